package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/auth"
	"github.com/atende/atende/internal/store"
)

// The settings a command that only touches the database accepts.
var storeSettings = []string{"data", "db", "log-level", "log-format"}

func (c *cli) migrate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("atende migrate", flag.ContinueOnError)
	cf := addConfigFlags(fs, storeSettings...)
	if err := c.parseFlags(fs, args, func(w io.Writer) {
		fmt.Fprint(w, "Usage: atende migrate [settings]\n\n"+
			"Applies pending database migrations and exits. 'atende serve' does this on\n"+
			"every start too; run it alone to upgrade the schema ahead of a deployment.\n\n")
		cf.usage(w)
	}); err != nil {
		return err
	}
	cfg, err := cf.resolve(c.getenv)
	if err != nil {
		return usagef("%v", err)
	}
	log := newLogger(c.stderr, cfg.LogLevel, cfg.LogFormat)
	st, err := store.Open(ctx, store.Config{DSN: cfg.DB, DataDir: cfg.DataDir, Logger: log})
	if err != nil {
		return fmt.Errorf("open database (settings db, data): %w", err)
	}
	defer st.Close()
	n, err := st.Migrate(ctx)
	if err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	switch n {
	case 0:
		fmt.Fprintf(c.stdout, "The %s database is up to date: no migrations to apply.\n", st.Dialect())
	case 1:
		fmt.Fprintf(c.stdout, "Applied 1 migration to the %s database.\n", st.Dialect())
	default:
		fmt.Fprintf(c.stdout, "Applied %d migrations to the %s database.\n", n, st.Dialect())
	}
	return nil
}

const adminUsage = `Usage: atende admin COMMAND [flags]

Commands:
  create-tenant    create a tenant (a company served)
  create-user      create a user in a tenant; prints a generated password unless --password-stdin
  reset-password   give a user a new random password and print it
  create-token     create an API token for a user and print its secret once

Every command also takes the database settings (--data, --db, --config, or
their ATENDE_* environment variables) and migrates the database first.
Run 'atende admin COMMAND --help' for its flags.
`

// adminCommand is one `atende admin` subcommand.
type adminCommand struct {
	summary string
	flags   []string // the command's own flags, in help order
	define  func(fs *flag.FlagSet) func(ctx context.Context, st *store.Store) error
}

func (c *cli) adminCommands() map[string]adminCommand {
	return map[string]adminCommand{
		"create-tenant":  {"Creates a tenant.", []string{"name", "slug", "locale", "time-zone"}, c.createTenant},
		"create-user":    {"Creates a user. Without --password-stdin a random password is generated and printed once.", []string{"tenant", "email", "name", "roles", "password-stdin"}, c.createUser},
		"reset-password": {"Sets a new random password for a user, prints it once and ends the user's sessions.", []string{"tenant", "email"}, c.resetPassword},
		"create-token":   {"Creates an API token acting as a user and prints its secret once.", []string{"tenant", "email", "name", "scopes", "expires"}, c.createToken},
	}
}

func (c *cli) admin(ctx context.Context, args []string) error {
	err := c.adminCommand(ctx, args)
	if err == nil || errors.Is(err, errHelp) || len(args) == 0 {
		return err
	}
	if _, known := c.adminCommands()[args[0]]; known {
		// "atende admin create-user: ...", naming the command that failed.
		return fmt.Errorf("%s: %w", args[0], err)
	}
	return err
}

func (c *cli) adminCommand(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, adminUsage)
		return usagef("missing command")
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		fmt.Fprint(c.stdout, adminUsage)
		return nil
	}
	cmd, ok := c.adminCommands()[args[0]]
	if !ok {
		fmt.Fprint(c.stderr, adminUsage)
		return usagef("unknown command %q", args[0])
	}
	fs := flag.NewFlagSet("atende admin "+args[0], flag.ContinueOnError)
	do := cmd.define(fs)
	cf := addConfigFlags(fs, storeSettings...)
	// Warnings only: an operator's command prints its own result on stdout.
	cf.setDefault("log-level", "warn")
	if err := c.parseFlags(fs, args[1:], func(w io.Writer) {
		fmt.Fprintf(w, "Usage: %s [flags]\n\n%s\n\nFlags:\n", fs.Name(), cmd.summary)
		flagHelp(w, fs, cmd.flags...)
		fmt.Fprintln(w)
		cf.usage(w)
	}); err != nil {
		return err
	}
	cfg, err := cf.resolve(c.getenv)
	if err != nil {
		return usagef("%v", err)
	}
	log := newLogger(c.stderr, cfg.LogLevel, cfg.LogFormat)
	st, err := store.Open(ctx, store.Config{DSN: cfg.DB, DataDir: cfg.DataDir, Logger: log})
	if err != nil {
		return fmt.Errorf("open database (settings db, data): %w", err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	return do(ctx, st)
}

// required fails with a usage error naming the first empty flag.
func required(fs *flag.FlagSet, names ...string) error {
	for _, n := range names {
		if strings.TrimSpace(fs.Lookup(n).Value.String()) == "" {
			return usagef("--%s is required (see '%s --help')", n, fs.Name())
		}
	}
	return nil
}

func (c *cli) createTenant(fs *flag.FlagSet) func(context.Context, *store.Store) error {
	name := fs.String("name", "", "the tenant's `name`, e.g. \"Acme Support\"")
	slug := fs.String("slug", "", "short lower-case `id` used in URLs and at login (default: from the name)")
	locale := fs.String("locale", "en-US", "formatting `preset`: "+strings.Join(atende.Locales, ", "))
	tz := fs.String("time-zone", "UTC", "IANA time `zone` for business hours and reports, e.g. America/Sao_Paulo")
	return func(ctx context.Context, st *store.Store) error {
		if err := required(fs, "name"); err != nil {
			return err
		}
		t := &atende.Tenant{Name: *name, Slug: *slug, Locale: *locale, TimeZone: *tz}
		if err := st.CreateTenant(ctx, cliActor(""), t); err != nil {
			return fmt.Errorf("create tenant: %w", err)
		}
		fmt.Fprintf(c.stdout, "Created tenant %q: slug %s, locale %s, time zone %s, id %s.\n", t.Name, t.Slug, t.Locale, t.TimeZone, t.ID)
		return nil
	}
}

func (c *cli) createUser(fs *flag.FlagSet) func(context.Context, *store.Store) error {
	tenant := fs.String("tenant", "", "`slug` of the user's tenant")
	email := fs.String("email", "", "the user's `email`, used to log in")
	name := fs.String("name", "", "the user's display `name`")
	roles := fs.String("roles", "agent", "comma-separated `roles`: "+joinRoles(atende.Roles))
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input instead of generating one")
	return func(ctx context.Context, st *store.Store) error {
		if err := required(fs, "tenant", "email", "name"); err != nil {
			return err
		}
		t, err := tenantBySlug(ctx, st, *tenant)
		if err != nil {
			return err
		}
		u := &atende.User{Email: *email, Name: *name, Active: true}
		for r := range strings.SplitSeq(*roles, ",") {
			if r = strings.TrimSpace(r); r != "" {
				u.Roles = append(u.Roles, atende.Role(r))
			}
		}
		password, generated := "", false
		if *fromStdin {
			if password, err = readPasswordLine(c.stdin); err != nil {
				return err
			}
			if err := auth.CheckPasswordPolicy(password); err != nil {
				return usagef("password from standard input: %v", err)
			}
		} else {
			password, generated = auth.RandomPassword(), true
		}
		if err := st.CreateUser(ctx, cliActor(t.ID), u, password); err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		fmt.Fprintf(c.stdout, "Created user %s (%s) in tenant %s with roles %s; id %s.\n", u.Email, u.Name, t.Slug, joinRoles(u.Roles), u.ID)
		if generated {
			fmt.Fprintf(c.stdout, "Password (shown only now; give it to the user over a safe channel):\n  %s\n", password)
		}
		return nil
	}
}

func (c *cli) resetPassword(fs *flag.FlagSet) func(context.Context, *store.Store) error {
	tenant := fs.String("tenant", "", "`slug` of the user's tenant")
	email := fs.String("email", "", "the user's `email`")
	return func(ctx context.Context, st *store.Store) error {
		if err := required(fs, "tenant", "email"); err != nil {
			return err
		}
		t, u, err := userByEmail(ctx, st, *tenant, *email)
		if err != nil {
			return err
		}
		password := auth.RandomPassword()
		if err := st.SetPassword(ctx, cliActor(t.ID), u.ID, password); err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		fmt.Fprintf(c.stdout, "New password for %s in tenant %s (shown only now; their sessions were ended):\n  %s\n", u.Email, t.Slug, password)
		return nil
	}
}

func (c *cli) createToken(fs *flag.FlagSet) func(context.Context, *store.Store) error {
	tenant := fs.String("tenant", "", "`slug` of the tenant")
	email := fs.String("email", "", "`email` of the user the token acts as")
	name := fs.String("name", "", "what the token is for, e.g. \"CRM sync\" (shown in the audit log)")
	scopes := fs.String("scopes", "", "comma-separated `permissions` to narrow the token to (default: all of the user's)")
	expires := fs.Duration("expires", 720*time.Hour, "lifetime of the token; 0 for a token that never expires")
	return func(ctx context.Context, st *store.Store) error {
		if err := required(fs, "tenant", "email", "name"); err != nil {
			return err
		}
		if *expires < 0 {
			return usagef("--expires must not be negative")
		}
		var perms []atende.Permission
		for p := range strings.SplitSeq(*scopes, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			if !atende.ValidPermission(atende.Permission(p)) {
				var all []string
				for _, q := range atende.Permissions {
					all = append(all, string(q))
				}
				return usagef("--scopes: %q is not a permission; permissions are %s", p, strings.Join(all, ", "))
			}
			perms = append(perms, atende.Permission(p))
		}
		t, u, err := userByEmail(ctx, st, *tenant, *email)
		if err != nil {
			return err
		}
		var expiresAt *time.Time
		if *expires > 0 {
			at := time.Now().UTC().Add(*expires).Truncate(time.Second)
			expiresAt = &at
		}
		secret, tok, err := st.CreateAPIToken(ctx, cliActor(t.ID), u.ID, *name, perms, expiresAt)
		if err != nil {
			return fmt.Errorf("create token: %w", err)
		}
		scope := "all of the user's permissions"
		if len(tok.Scopes) > 0 {
			var s []string
			for _, p := range tok.Scopes {
				s = append(s, string(p))
			}
			scope = strings.Join(s, ", ")
		}
		until := "never expires"
		if tok.ExpiresAt != nil {
			until = "expires " + tok.ExpiresAt.Format(time.RFC3339)
		}
		fmt.Fprintf(c.stdout, "Created API token %q (id %s) acting as %s in tenant %s; scopes: %s; %s.\n", tok.Name, tok.ID, u.Email, t.Slug, scope, until)
		fmt.Fprintf(c.stdout, "Secret (shown only now; send it as 'Authorization: Bearer SECRET'):\n  %s\n", secret)
		return nil
	}
}

func tenantBySlug(ctx context.Context, st *store.Store, slug string) (*atende.Tenant, error) {
	t, err := st.TenantBySlug(ctx, strings.ToLower(strings.TrimSpace(slug)))
	if atende.ErrorCode(err) == atende.ENotFound {
		return nil, fmt.Errorf("no tenant with slug %q", slug)
	}
	if err != nil {
		return nil, fmt.Errorf("find tenant: %w", err)
	}
	return t, nil
}

func userByEmail(ctx context.Context, st *store.Store, tenantSlug, email string) (*atende.Tenant, *atende.User, error) {
	t, err := tenantBySlug(ctx, st, tenantSlug)
	if err != nil {
		return nil, nil, err
	}
	u, err := st.UserByEmail(ctx, t.ID, email)
	if atende.ErrorCode(err) == atende.ENotFound {
		return nil, nil, fmt.Errorf("no user with email %q in tenant %s", email, t.Slug)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("find user: %w", err)
	}
	return t, u, nil
}

// readPasswordLine reads a password from the first line of r (a pipe or a
// here-document; nothing is echoed because nothing is prompted).
func readPasswordLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usagef("--password-stdin: standard input has no password")
	}
	return line, nil
}

func joinRoles(roles []atende.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}
