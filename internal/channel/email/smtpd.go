package email

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/channel/email/mailbox"
	"github.com/emersion/go-smtp"
)

// ReceiveServer is atende's own SMTP receiving server (RFC 5321), for MX
// records or forwarding: it accepts mail for the recipients mailboxes
// declare and answers 250 only once the message is durably stored; a
// storage failure answers 451 so the sending server retries.
type ReceiveServer struct {
	Importer *Importer
	Domain   string      // the name it greets with
	TLS      *tls.Config // offers STARTTLS when set
	// MaxBytes bounds any message (default 100 MiB); each mailbox's own
	// limit applies too.
	MaxBytes int64
	Log      *slog.Logger
	// Timeout bounds each read and write on a connection (default 5 min).
	Timeout time.Duration

	srv *smtp.Server
}

// Serve accepts connections on ln until Close.
func (s *ReceiveServer) Serve(ln net.Listener) error {
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, remote: c.Conn().RemoteAddr().String()}, nil
	}))
	srv.Domain = s.Domain
	if srv.Domain == "" {
		srv.Domain, _ = os.Hostname()
	}
	srv.MaxMessageBytes = s.MaxBytes
	if srv.MaxMessageBytes == 0 {
		srv.MaxMessageBytes = 100 << 20
	}
	srv.MaxRecipients = 100
	srv.ReadTimeout, srv.WriteTimeout = s.Timeout, s.Timeout
	if s.Timeout == 0 {
		srv.ReadTimeout, srv.WriteTimeout = 5*time.Minute, 5*time.Minute
	}
	srv.TLSConfig = s.TLS
	srv.ErrorLog = slogAdapter{s.log()}
	s.srv = srv
	return srv.Serve(ln)
}

// Shutdown stops accepting and waits for sessions in progress until ctx ends.
func (s *ReceiveServer) Shutdown(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	return s.srv.Shutdown(ctx)
}

// Close stops the server at once.
func (s *ReceiveServer) Close() error {
	if s.srv == nil {
		return nil
	}
	return s.srv.Close()
}

func (s *ReceiveServer) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Printf(format string, v ...any) { a.l.Warn("smtp", "msg", sprintf(format, v...)) }
func (a slogAdapter) Println(v ...any)               { a.l.Warn("smtp", "msg", sprint(v...)) }

type session struct {
	s         *ReceiveServer
	remote    string
	from      string
	rcpt      []string
	mailboxes []*mailbox.Mailbox
}

func (ss *session) Reset()        { ss.from, ss.rcpt, ss.mailboxes = "", nil, nil }
func (ss *session) Logout() error { return nil }

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}

var (
	errTempStorage = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary storage failure; try again later"}
	errNoSuchUser  = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such recipient here"}
	errTooBig      = &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "Message too big for this mailbox"}
)

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mb, err := ss.s.Importer.Store.MailboxByRecipient(ctx, to)
	if err != nil {
		if atende.ErrorCode(err) == atende.ENotFound {
			return errNoSuchUser
		}
		ss.s.log().Warn("smtp recipient lookup", "err", err)
		return errTempStorage
	}
	for _, m := range ss.mailboxes {
		if m.ID == mb.ID {
			ss.rcpt = append(ss.rcpt, to)
			return nil // one copy per mailbox
		}
	}
	ss.rcpt = append(ss.rcpt, to)
	ss.mailboxes = append(ss.mailboxes, mb)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	env := Envelope{MailFrom: ss.from, RcptTo: ss.rcpt}
	if len(ss.mailboxes) == 1 {
		return ss.importOne(ctx, ss.mailboxes[0], env, r)
	}
	// Several mailboxes: spool once, import each from the spool.
	tmp, err := os.CreateTemp("", "atende-smtp-*")
	if err != nil {
		io.Copy(io.Discard, r)
		return errTempStorage
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if _, err := io.Copy(tmp, r); err != nil {
		if errors.Is(err, smtp.ErrDataTooLarge) {
			return errTooBig
		}
		return errTempStorage
	}
	for _, mb := range ss.mailboxes {
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return errTempStorage
		}
		if err := ss.importOne(ctx, mb, env, tmp); err != nil {
			return err
		}
	}
	return nil
}

func (ss *session) importOne(ctx context.Context, mb *mailbox.Mailbox, env Envelope, r io.Reader) error {
	max := int64(mailbox.DefaultMaxBytes)
	if mb.Receive != nil && mb.Receive.MaxBytes > 0 {
		max = mb.Receive.MaxBytes
	}
	res, err := ss.s.Importer.Import(ctx, mb, env, r, max)
	if err != nil {
		io.Copy(io.Discard, r)
		if errors.Is(err, ErrTooLarge) || errors.Is(err, smtp.ErrDataTooLarge) {
			return errTooBig
		}
		ss.s.log().Error("smtp import failed; answered 451", "mailbox", mb.ID, "remote", ss.remote, "err", err)
		return errTempStorage
	}
	ss.s.log().Info("email received", "mailbox", mb.ID, "message_id", res.MessageID, "conversation", res.ConversationID, "created", res.Created)
	return nil
}
