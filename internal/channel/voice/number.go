package voice

import (
	"errors"
	"strings"

	"github.com/atende/atende"
)

// maxNumberLen bounds a dialled number; E.164 has at most 15 digits, and a
// user part may carry a prefix and separators.
const maxNumberLen = 32

// DialledNumber reads the phone number in the user part of a SIP URI (the
// Request-URI or To of an inbound call) as E.164. Providers send numbers
// with "+", in international form without it, or in national form; region
// is the trunk's default country for the last two.
func DialledNumber(user, region string) (string, error) {
	user, _, _ = strings.Cut(user, ";") // user parameters such as ;npdi;rn=...
	if user == "" || len(user) > maxNumberLen {
		return "", errors.New("no dialled number")
	}
	var b strings.Builder
	for i, r := range user {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == '-' || r == '.' || r == '(' || r == ')' || r == ' ':
		default:
			return "", errors.New("the user part is not a number")
		}
	}
	digits := b.String()
	if strings.TrimPrefix(digits, "+") == "" {
		return "", errors.New("no dialled number")
	}
	if n, err := atende.NormalizePhone(digits, region); err == nil {
		return n, nil
	}
	if !strings.HasPrefix(digits, "+") {
		digits = strings.TrimPrefix(digits, "00") // international prefix
		if n, err := atende.NormalizePhone("+"+digits, region); err == nil {
			return n, nil
		}
	}
	return "", errors.New("not a valid phone number")
}
