// Small inline icons, so that state, channel and alert level are never told
// by colour alone (each also has its text, visible or for screen readers).
import type { AgentStatus, Channel } from '../lib/api';
import type { AlertLevel } from './model';

const box = { width: '1em', height: '1em', viewBox: '0 0 16 16', 'aria-hidden': 'true' as const, focusable: 'false' as const };

export function ChannelIcon({ channel }: { channel: Channel }) {
  switch (channel) {
    case 'voice':
      return (
        <svg {...box} class="wb-icon">
          <path fill="currentColor" d="M4.2 1.5l2 2.6c.3.4.3 1-.1 1.3L5 6.5c.8 1.8 2.6 3.6 4.5 4.5l1.1-1.1c.4-.4.9-.4 1.3-.1l2.6 2c.4.3.5 1 .1 1.4l-1.3 1.3c-.6.6-1.5.8-2.3.5C6.6 13.6 2.4 9.4 1 5.2c-.3-.8-.1-1.7.5-2.3L2.8 1.4c.4-.4 1.1-.3 1.4.1z" />
        </svg>
      );
    case 'chat':
      return (
        <svg {...box} class="wb-icon">
          <path fill="currentColor" d="M2 2.5h12a1 1 0 011 1v7a1 1 0 01-1 1H7l-3.5 3v-3H2a1 1 0 01-1-1v-7a1 1 0 011-1z" />
        </svg>
      );
    case 'email':
      return (
        <svg {...box} class="wb-icon">
          <path fill="currentColor" d="M1.5 3.5h13a.5.5 0 01.5.5v8a.5.5 0 01-.5.5h-13A.5.5 0 011 12V4a.5.5 0 01.5-.5zm.8 1.2L8 8.8l5.7-4.1H2.3z" />
        </svg>
      );
    case 'sms':
      return (
        <svg {...box} class="wb-icon">
          <rect x="4" y="1" width="8" height="14" rx="1.5" fill="currentColor" />
          <rect x="5.3" y="2.8" width="5.4" height="8.4" fill="#fff" />
        </svg>
      );
    default:
      return (
        <svg {...box} class="wb-icon">
          <circle cx="4" cy="8" r="2.3" fill="currentColor" />
          <circle cx="12" cy="3.5" r="2.3" fill="currentColor" />
          <circle cx="12" cy="12.5" r="2.3" fill="currentColor" />
          <path d="M4 8l8-4.5M4 8l8 4.5" stroke="currentColor" stroke-width="1.5" />
        </svg>
      );
  }
}

/** A shape per state: check, filled square, diamond, pause, empty circle. */
export function StateIcon({ status }: { status: AgentStatus }) {
  switch (status) {
    case 'available':
      return (
        <svg {...box} class="wb-state-icon">
          <circle cx="8" cy="8" r="7" fill="currentColor" />
          <path d="M4.5 8.2l2.3 2.3 4.7-4.8" stroke="#fff" stroke-width="1.8" fill="none" />
        </svg>
      );
    case 'busy':
      return (
        <svg {...box} class="wb-state-icon">
          <rect x="1.5" y="1.5" width="13" height="13" rx="2.5" fill="currentColor" />
          <rect x="4.5" y="7" width="7" height="2" fill="#fff" />
        </svg>
      );
    case 'wrap_up':
      return (
        <svg {...box} class="wb-state-icon">
          <path d="M8 .8L15.2 8 8 15.2.8 8z" fill="currentColor" />
          <path d="M5 8h6" stroke="#fff" stroke-width="1.8" />
        </svg>
      );
    case 'away':
      return (
        <svg {...box} class="wb-state-icon">
          <circle cx="8" cy="8" r="7" fill="currentColor" />
          <rect x="5" y="4.5" width="2" height="7" fill="#fff" />
          <rect x="9" y="4.5" width="2" height="7" fill="#fff" />
        </svg>
      );
    default:
      return (
        <svg {...box} class="wb-state-icon">
          <circle cx="8" cy="8" r="6" fill="none" stroke="currentColor" stroke-width="2" />
        </svg>
      );
  }
}

/** A triangle for a warning, an octagon for a critical alert. */
export function AlertIcon({ level }: { level: AlertLevel }) {
  return level === 'critical' ? (
    <svg {...box} class="wb-alert-icon">
      <path d="M5 .8h6L15.2 5v6L11 15.2H5L.8 11V5z" fill="currentColor" />
      <rect x="7" y="3.5" width="2" height="6" fill="#fff" />
      <rect x="7" y="10.8" width="2" height="2" fill="#fff" />
    </svg>
  ) : (
    <svg {...box} class="wb-alert-icon">
      <path d="M8 1l7.3 13.5H.7z" fill="currentColor" />
      <rect x="7" y="5.5" width="2" height="4.8" fill="#fff" />
      <rect x="7" y="11.3" width="2" height="2" fill="#fff" />
    </svg>
  );
}
