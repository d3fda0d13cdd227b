// The customer chat widget, embedded on a customer's site with one tag:
//
//   <script src="https://ATENDE/widget.js" data-widget="WIDGET_ID" async></script>
//
// optionally with data-lang (es, pt-BR, en) and data-position (left, right).
// The API is the origin the script came from. Everything lives in a shadow
// root, so the page's CSS and the widget's cannot touch each other, and it
// needs no inline script or style attribute: styles are a constructed
// stylesheet, which a strict Content-Security-Policy allows.
import { render } from 'preact';
import css from './widget.css?inline';
import { Chat } from './chat';
import { Widget } from './ui';

function ownScript(): HTMLScriptElement | null {
  const cur = document.currentScript;
  if (cur instanceof HTMLScriptElement && cur.dataset.widget) return cur;
  // Loaded as a module or by a tag manager: find the tag by its attribute.
  const all = document.querySelectorAll<HTMLScriptElement>('script[data-widget][src]');
  for (const s of Array.from(all)) if (/\/widget\.js(\?|#|$)/.test(s.src)) return s;
  return null;
}

function storage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null; // blocked third-party storage: the chat lasts for this page
  }
}

function mount(script: HTMLScriptElement) {
  const widgetId = script.dataset.widget ?? '';
  if (!widgetId || document.querySelector(`atende-chat[data-widget="${CSS.escape(widgetId)}"]`)) return;
  const host = document.createElement('atende-chat');
  host.dataset.widget = widgetId;
  const root = host.attachShadow({ mode: 'open' });
  if ('adoptedStyleSheets' in root && 'replaceSync' in CSSStyleSheet.prototype) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } else {
    const style = document.createElement('style');
    style.textContent = css;
    root.appendChild(style);
  }
  document.body.appendChild(host);
  const chat = new Chat({ base: new URL(script.src, location.href).origin, widgetId, dataLang: script.dataset.lang, storage: storage() });
  const pos = script.dataset.position;
  render(<Widget chat={chat} position={pos === 'left' || pos === 'right' ? pos : null} />, root);
  chat.init();
}

const script = ownScript();
if (script) {
  if (document.body) mount(script);
  else document.addEventListener('DOMContentLoaded', () => mount(script), { once: true });
}
