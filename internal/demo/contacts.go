package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/atende/atende"
)

// seedContact is a demo customer and the channels they can be reached on.
type seedContact struct {
	p          person
	lang       string
	customerID string
	email      string
	hasPhone   bool
	channels   []atende.Channel
	c          *atende.Contact
}

func (c *seedContact) fullName() string { return c.p.first + " " + c.p.last }

// market is a country the demo company serves and how its customers look.
type market struct {
	people     []person
	lang       string
	prefix     string // of customer ids
	phone      func(*seeder) string
	whatsapp   float64 // share of customers with a phone who use WhatsApp
	delinquent string  // the tag for customers behind on payments
}

// Phone numbers must be valid for the phone library (the store rejects the
// rest) and should look local. US numbers use 555-0100 to 555-0199, the
// range NANP keeps for fiction; Spain and Brazil have no such range, so
// those are random mobiles that validate.
func spanishMobile(sd *seeder) string { return fmt.Sprintf("+346%08d", sd.rng.IntN(100_000_000)) }

func brazilianMobile(sd *seeder) string {
	area := pick(sd.rng, []int{11, 11, 11, 11, 21, 21, 31, 41, 51, 61, 71, 81})
	return fmt.Sprintf("+55%d9%d%07d", area, 6+sd.rng.IntN(4), sd.rng.IntN(10_000_000))
}

func usNumber(sd *seeder) string {
	area := pick(sd.rng, []int{212, 646, 718, 917, 415, 305, 312, 617, 512})
	return fmt.Sprintf("+1%d55501%02d", area, sd.rng.IntN(100))
}

var emailDomains = []string{"example.com", "example.net", "example.org"}

func (sd *seeder) seedContacts(ctx context.Context) error {
	markets := []market{
		{spainCustomers, "es", "ES", spanishMobile, 0.4, "moroso"},
		{brazilCustomers, "pt-BR", "BR", brazilianMobile, 0.75, "inadimplente"},
		{usCustomers, "en", "US", usNumber, 0.15, "past-due"},
		{usSpanishCustomers, "es", "US", usNumber, 0.5, "past-due"},
	}
	for _, m := range markets {
		for _, p := range m.people {
			c, err := sd.newContact(m, p)
			if err != nil {
				return err
			}
			if err := sd.s.CreateContact(ctx, sd.actor, c.c); err != nil {
				return fmt.Errorf("%s: %w", c.fullName(), err)
			}
			sd.contacts = append(sd.contacts, c)
		}
	}
	return nil
}

// newContact makes up a customer of market m, deterministically from the
// seeder's random source.
func (sd *seeder) newContact(m market, p person) (*seedContact, error) {
	rng := sd.rng
	sc := &seedContact{p: p, lang: m.lang}
	c := &atende.Contact{Name: sc.fullName(), Language: m.lang, Fields: map[string]any{}}
	sc.c = c

	hasPhone := chance(rng, 0.92)
	hasEmail := chance(rng, 0.8) || !hasPhone
	var phone string
	if hasPhone {
		var err error
		if phone, err = sd.unique("phone", func() string { return m.phone(sd) }, func(v string) bool {
			n, err := atende.NormalizePhone(v, "")
			return err == nil && n == v
		}); err != nil {
			return nil, fmt.Errorf("%s: %w", sc.fullName(), err)
		}
		c.Identities = append(c.Identities, atende.Identity{Kind: atende.IdentityPhone, Value: phone, Verified: chance(rng, 0.6)})
		sc.hasPhone = true
		sc.channels = append(sc.channels, atende.ChannelVoice, atende.ChannelSMS)
	}
	first, surname := handlePart(p.first), handlePart(strings.Fields(p.last)[0])
	if hasEmail {
		email, err := sd.unique("email", func() string {
			local := first + "." + surname
			if chance(rng, 0.4) {
				local += fmt.Sprint(rng.IntN(90) + 10)
			}
			return local + "@" + pick(rng, emailDomains)
		}, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sc.fullName(), err)
		}
		c.Identities = append(c.Identities, atende.Identity{Kind: atende.IdentityEmail, Value: email, Verified: chance(rng, 0.5)})
		sc.email = email
		sc.channels = append(sc.channels, atende.ChannelEmail)
	}
	social := false
	if hasPhone && chance(rng, m.whatsapp) {
		c.Identities = append(c.Identities, atende.Identity{Kind: atende.IdentitySocial, Network: "whatsapp", Value: phone, Verified: true})
		social = true
	}
	if chance(rng, 0.2) {
		handle, err := sd.unique("instagram", func() string {
			return fmt.Sprintf("%s_%s%d", first, surname, rng.IntN(90)+10)
		}, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sc.fullName(), err)
		}
		c.Identities = append(c.Identities, atende.Identity{Kind: atende.IdentitySocial, Network: "instagram", Value: handle})
		social = true
	}
	if social {
		sc.channels = append(sc.channels, atende.ChannelSocial)
	}
	hasChat := chance(rng, 0.3)
	if hasChat {
		visitor, err := sd.unique("chat", func() string { return fmt.Sprintf("v_%016x", rng.Uint64()) }, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sc.fullName(), err)
		}
		c.Identities = append(c.Identities, atende.Identity{Kind: atende.IdentityChat, Value: visitor})
	}
	if hasChat || hasEmail { // a web chat visitor is known by a visitor id or the email they type in
		sc.channels = append(sc.channels, atende.ChannelChat)
	}

	id, err := sd.unique("customer_id", func() string { return fmt.Sprintf("%s-%06d", m.prefix, 100000+rng.IntN(900000)) }, nil)
	if err != nil {
		return nil, err
	}
	sc.customerID = id
	c.Fields["customer_id"] = id
	c.Fields["plan"] = pick(rng, planOptions)
	vip := chance(rng, 0.12)
	c.Fields["vip"] = vip
	if chance(rng, 0.75) {
		c.Fields["contract_end"] = sd.now.AddDate(0, 0, rng.IntN(740)-20).Format(time.DateOnly)
	}
	if vip {
		c.Tags = append(c.Tags, "vip")
	}
	if chance(rng, 0.1) {
		c.Tags = append(c.Tags, m.delinquent)
	}
	if chance(rng, 0.12) {
		c.Tags = append(c.Tags, "churn-risk")
	}
	return sc, nil
}

// unique draws values from gen until one is new in its kind (and passes
// valid, when given): identities must be unique in a tenant.
func (sd *seeder) unique(kind string, gen func() string, valid func(string) bool) (string, error) {
	for range 1000 {
		v := gen()
		key := kind + "\x00" + v
		if sd.used[key] || (valid != nil && !valid(v)) {
			continue
		}
		sd.used[key] = true
		return v, nil
	}
	return "", fmt.Errorf("no unique %s found", kind)
}

// handlePart turns a name into lower-case ASCII for emails and handles:
// "José Luis" becomes "joseluis".
func handlePart(name string) string {
	return strings.ReplaceAll(atende.Slugify(name), "-", "")
}
