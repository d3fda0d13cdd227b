package voice

import (
	"errors"
	"fmt"

	"github.com/emiago/diago/media"
	"github.com/emiago/diago/media/sdp"
	"github.com/emiago/sipgo/sip"
)

// maxSDP bounds an offer; a real one is well under a kilobyte or two.
const maxSDP = 8 << 10

// checkSDP reads an offer the way the media layer will (session, audio
// media, codecs, connection) and reports whether that is safe. The SDP
// reader of the media library panics on some malformed lines (e.g.
// "c=IN IP4" without an address); a panic in a call's goroutine would end
// the whole process, so such offers are refused before a dialog exists.
func checkSDP(body []byte) (err error) {
	if len(body) > maxSDP {
		return errors.New("SDP too large")
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed SDP: %v", r)
		}
	}()
	sd := sdp.SessionDescription{}
	if err := sdp.Unmarshal(body, &sd); err != nil {
		return err
	}
	if _, err := sd.SessionInformation(); err != nil {
		return err
	}
	md, err := sd.MediaDescription("audio")
	if err != nil {
		return err
	}
	codecs := make([]media.Codec, len(md.Formats))
	if _, err := media.CodecsFromSDPRead(md.Formats, sd.Values("a"), codecs); err != nil {
		return err
	}
	if _, err := sd.ConnectionInformation(); err != nil {
		return err
	}
	sd.MediaDirection()
	return nil
}

// sdpBody returns the SDP of a request, or nil when it carries none.
func sdpBody(req *sip.Request) []byte {
	ct := req.ContentType()
	if ct == nil || len(req.Body()) == 0 {
		return nil
	}
	if v := ct.Value(); len(v) < 15 || !equalFoldPrefix(v, "application/sdp") {
		return nil
	}
	return req.Body()
}

func equalFoldPrefix(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		a, b := s[i], prefix[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}
