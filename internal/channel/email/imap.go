package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/atende/atende/internal/channel/email/mailbox"
	"github.com/atende/atende/internal/secrets"
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Keywords atende sets on the IMAP server. $Imported marks a message stored
// in atende (with \Seen, in "flag" mode); $AtendeRejected one it could not
// take (over the size limit), so it is not fetched again and again.
const (
	KeywordImported imap.Flag = "$Imported"
	KeywordRejected imap.Flag = "$AtendeRejected"
)

// IMAPMaxBytes bounds a message fetched by IMAP: the server already took it,
// so atende accepts more than by SMTP before giving up on it.
const IMAPMaxBytes = 100 << 20

// IMAPImporter fetches one mailbox's mail from its IMAP server and imports
// it through the Importer, exactly once: a message is flagged or moved on
// the server only after its import committed, and a message fetched again
// (a crash between the two) is recognised by its Message-ID.
type IMAPImporter struct {
	Importer *Importer
	Secrets  *secrets.Box
	Log      *slog.Logger
	// TLSConfig is the base TLS configuration (tests add their CA); nil:
	// the system's roots.
	TLSConfig *tls.Config
	// Backoff between failed connections: doubles from MinBackoff (default
	// 1 s) to MaxBackoff (default 5 min).
	MinBackoff, MaxBackoff time.Duration
	// Poll overrides the mailbox's poll_seconds (tests).
	Poll time.Duration
}

func (m *IMAPImporter) log() *slog.Logger {
	if m.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return m.Log
}

// Run imports mb's mail until ctx ends, reconnecting with backoff.
func (m *IMAPImporter) Run(ctx context.Context, mb *mailbox.Mailbox) {
	minB, maxB := m.MinBackoff, m.MaxBackoff
	if minB <= 0 {
		minB = time.Second
	}
	if maxB <= 0 {
		maxB = 5 * time.Minute
	}
	backoff := minB
	for ctx.Err() == nil {
		start := time.Now()
		err := m.session(ctx, mb)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > maxB {
			backoff = minB // it worked for a while: start over
		}
		m.log().Warn("imap session ended; reconnecting", "mailbox", mb.ID, "host", mb.IMAP.Host, "in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxB)
	}
}

// session is one connection: log in, select, then import, wait (IDLE or
// poll) and import again until ctx ends or the connection fails.
func (m *IMAPImporter) session(ctx context.Context, mb *mailbox.Mailbox) error {
	cfg := mb.IMAP
	_, sec, err := m.Importer.Store.MailboxWithSecrets(ctx, mb.TenantID, mb.ID)
	if err != nil {
		return fmt.Errorf("load mailbox: %w", err)
	}
	password := ""
	if sec.IMAPPassword != "" {
		// Only in memory, only for LOGIN; never logged.
		if password, err = m.Secrets.Open(sec.IMAPPassword, SecretContext(mb.TenantID, "imap_password")); err != nil {
			return fmt.Errorf("open the stored IMAP password: %w", err)
		}
	}
	changed := make(chan struct{}, 1)
	opts := &imapclient.Options{
		Dialer: &net.Dialer{Timeout: 30 * time.Second},
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					select {
					case changed <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	if m.TLSConfig != nil {
		opts.TLSConfig = m.TLSConfig.Clone()
	} else {
		opts.TLSConfig = &tls.Config{}
	}
	opts.TLSConfig.ServerName = cfg.Host
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	var c *imapclient.Client
	switch cfg.TLS {
	case mailbox.TLSImplicit:
		c, err = imapclient.DialTLS(addr, opts)
	case mailbox.TLSStartTLS:
		c, err = imapclient.DialStartTLS(addr, opts)
	default:
		c, err = imapclient.DialInsecure(addr, opts)
	}
	if err != nil {
		return fmt.Errorf("connect %s: %w", addr, err)
	}
	defer c.Close()
	// Blocking IMAP calls take no context: closing the connection ends them.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.Login(cfg.User, password).Wait(); err != nil {
		return fmt.Errorf("log in as %s: %w", cfg.User, err) // the error never holds the password
	}
	sel, err := c.Select(cfg.Folder, nil).Wait()
	if err != nil {
		return fmt.Errorf("select %s: %w", cfg.Folder, err)
	}
	keywords := slices.Contains(sel.PermanentFlags, imap.FlagWildcard)
	poll := m.Poll
	if poll <= 0 {
		poll = time.Duration(cfg.PollSeconds) * time.Second
	}
	if poll <= 0 {
		poll = time.Minute
	}
	idle := cfg.Idle && (c.Caps().Has(imap.CapIdle) || c.Caps().Has(imap.CapIMAP4rev2))
	m.log().Info("imap connected", "mailbox", mb.ID, "host", cfg.Host, "folder", cfg.Folder, "idle", idle)
	for {
		n, err := m.sync(ctx, c, mb, keywords)
		if err != nil {
			return err
		}
		if n > 0 {
			m.log().Info("imap pass", "mailbox", mb.ID, "imported", n)
		}
		if !idle {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-changed:
			case <-time.After(poll):
			}
			continue
		}
		// IDLE until the server announces new mail, or the poll interval
		// passes (a fallback for servers whose IDLE misses some), or ctx ends.
		cmd, err := c.Idle()
		if err != nil {
			return fmt.Errorf("idle: %w", err)
		}
		select {
		case <-ctx.Done():
		case <-changed:
		case <-time.After(poll):
		case <-c.Closed():
		}
		if err := cmd.Close(); err != nil {
			return fmt.Errorf("end idle: %w", err)
		}
		if err := cmd.Wait(); err != nil {
			return fmt.Errorf("idle: %w", err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// sync imports every message of the selected folder not yet imported, one
// at a time (each streamed from the server to the media store), and flags
// or moves each only after its import committed.
func (m *IMAPImporter) sync(ctx context.Context, c *imapclient.Client, mb *mailbox.Mailbox, keywords bool) (int, error) {
	cfg := mb.IMAP
	var crit imap.SearchCriteria
	switch {
	case cfg.AfterImport == mailbox.AfterMove:
		// Whatever is still in the folder was not moved away yet.
		crit.NotFlag = []imap.Flag{KeywordRejected}
	case keywords:
		// Not yet imported, even if someone read it in a mail client.
		crit.NotFlag = []imap.Flag{KeywordImported, KeywordRejected}
	default:
		crit.NotFlag = []imap.Flag{imap.FlagSeen}
	}
	data, err := c.UIDSearch(&crit, nil).Wait()
	if err != nil {
		return 0, fmt.Errorf("search: %w", err)
	}
	n := 0
	for _, uid := range data.AllUIDs() {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		created, err := m.importUID(ctx, c, mb, uid)
		if errors.Is(err, ErrTooLarge) {
			m.log().Error("imap message over the size limit; left on the server", "mailbox", mb.ID, "uid", uid, "limit", IMAPMaxBytes)
			if keywords {
				if err := c.Store(imap.UIDSetNum(uid), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{KeywordRejected}}, nil).Close(); err != nil {
					return n, fmt.Errorf("flag uid %d rejected: %w", uid, err)
				}
			}
			continue
		}
		if err != nil {
			return n, err
		}
		if created {
			n++
		}
		// The import is durable (or was before): now, and only now, tell
		// the server.
		if cfg.AfterImport == mailbox.AfterMove {
			if _, err := c.Move(imap.UIDSetNum(uid), cfg.MoveTo).Wait(); err != nil {
				return n, fmt.Errorf("move uid %d to %s: %w", uid, cfg.MoveTo, err)
			}
			continue
		}
		flags := []imap.Flag{imap.FlagSeen}
		if keywords {
			flags = append(flags, KeywordImported)
		}
		if err := c.Store(imap.UIDSetNum(uid), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: flags}, nil).Close(); err != nil {
			return n, fmt.Errorf("flag uid %d: %w", uid, err)
		}
	}
	return n, nil
}

// importUID streams one message (BODY.PEEK[], so fetching does not mark it
// read) into the importer.
func (m *IMAPImporter) importUID(ctx context.Context, c *imapclient.Client, mb *mailbox.Mailbox, uid imap.UID) (bool, error) {
	section := &imap.FetchItemBodySection{Peek: true}
	cmd := c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}})
	defer cmd.Close()
	var res *Result
	var ierr error
	found := false
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		for item := msg.Next(); item != nil; item = msg.Next() {
			body, ok := item.(imapclient.FetchItemDataBodySection)
			if !ok || body.Literal == nil || found {
				continue
			}
			found = true
			res, ierr = m.Importer.Import(ctx, mb, Envelope{}, body.Literal, IMAPMaxBytes)
		}
	}
	if err := cmd.Close(); err != nil {
		return false, fmt.Errorf("fetch uid %d: %w", uid, err)
	}
	if !found {
		return false, fmt.Errorf("fetch uid %d: the server sent no body", uid)
	}
	if ierr != nil {
		return false, fmt.Errorf("import uid %d: %w", uid, ierr)
	}
	m.log().Info("email fetched", "mailbox", mb.ID, "uid", uid, "message_id", res.MessageID, "conversation", res.ConversationID, "created", res.Created)
	return res.Created, nil
}

// IMAPWorkers runs one IMAPImporter per active mailbox with IMAP settings,
// and follows mailboxes being created, changed, deactivated or deleted.
type IMAPWorkers struct {
	IMAPImporter
	// Reload is how often the mailbox list is read again (default 30 s).
	Reload time.Duration

	mu      sync.Mutex
	running map[string]*imapWorker
}

type imapWorker struct {
	version int64
	cancel  context.CancelFunc
	done    chan struct{}
}

// Run starts and stops importers until ctx ends, then waits for them all.
func (w *IMAPWorkers) Run(ctx context.Context) {
	every := w.Reload
	if every <= 0 {
		every = 30 * time.Second
	}
	w.mu.Lock()
	w.running = map[string]*imapWorker{}
	w.mu.Unlock()
	defer w.stopAll()
	for {
		w.reconcile(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// Running returns the ids of the mailboxes being imported now.
func (w *IMAPWorkers) Running() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ids []string
	for id := range w.running {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (w *IMAPWorkers) reconcile(ctx context.Context) {
	list, err := w.Importer.Store.ActiveMailboxes(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.log().Warn("imap: list mailboxes", "err", err)
		}
		return
	}
	want := map[string]*mailbox.Mailbox{}
	for i := range list {
		if list[i].IMAP != nil {
			want[list[i].ID] = &list[i]
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, r := range w.running {
		if mb, ok := want[id]; !ok || mb.Version != r.version {
			r.cancel()
			<-r.done
			delete(w.running, id)
		}
	}
	for id, mb := range want {
		if _, ok := w.running[id]; ok {
			continue
		}
		wctx, cancel := context.WithCancel(ctx)
		r := &imapWorker{version: mb.Version, cancel: cancel, done: make(chan struct{})}
		w.running[id] = r
		go func() {
			defer close(r.done)
			w.IMAPImporter.Run(wctx, mb)
		}()
	}
}

func (w *IMAPWorkers) stopAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, r := range w.running {
		r.cancel()
		<-r.done
		delete(w.running, id)
	}
}
