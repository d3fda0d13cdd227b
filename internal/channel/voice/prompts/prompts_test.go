package prompts

import (
	"encoding/binary"
	"io/fs"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/atende/atende"
)

func TestCatalogueHasEveryPromptInEveryLanguage(t *testing.T) {
	for _, lang := range atende.Languages {
		for _, id := range atende.PromptIDs {
			if !Has(lang, id) {
				t.Errorf("%s/%s is missing", lang, id)
			}
		}
		for n := range 1000 {
			for _, r := range Number(lang, n) {
				if !Has(r.Lang, r.ID) {
					t.Fatalf("%s: saying %d needs %s, which is missing", lang, n, r)
				}
			}
		}
	}
	if Has("es", "../es/welcome") || Has("", "welcome") {
		t.Fatal("a path outside the catalogue was accepted")
	}
}

func TestCatalogueIsTelephonyWAVAndSmall(t *testing.T) {
	total := 0
	err := fs.WalkDir(audioFS, "audio", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := audioFS.ReadFile(p)
		total += len(b)
		a, err := ParseWAV(b)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		if a.Format != (Format{Tag: formatPCM, Channels: 1, Rate: 8000, Bits: 16}) {
			t.Errorf("%s: format %+v", p, a.Format)
		}
		if a.Seconds() < 0.15 || a.Seconds() > 6 {
			t.Errorf("%s lasts %.2f s", p, a.Seconds())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total >= 3_000_000 {
		t.Fatalf("the catalogue holds %d bytes; keep it under 3 MB", total)
	}
	t.Logf("catalogue: %d bytes", total)
}

func ids(rs []Ref) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.ID)
	}
	return strings.Join(s, " ")
}

func TestNumbersPositionsAndWaits(t *testing.T) {
	cases := []struct {
		got  []Ref
		want string
	}{
		{Number("es", 0), "n_0"},
		{Number("es", 25), "n_25"},
		{Number("es", 45), "n_40 n_and n_5"},
		{Number("pt-BR", 21), "n_20 n_and n_1"},
		{Number("pt-BR", 16), "n_16"},
		{Number("en", 45), "n_40 n_5"},
		{Number("en", 90), "n_90"},
		{Number("en", 120), "n_1 n_2 n_0"},
		{Position("es", 12), "queue_position n_12"},
		{Position("en", 0), "queue_position n_1"},
		{Wait("pt-BR", 0), "wait_less_than_minute"},
		{Wait("pt-BR", 1), "wait_one_minute"},
		{Wait("es", 4), "estimated_wait n_4 minutes"},
		{Wait("en", 33), "estimated_wait n_30 n_3 minutes"},
		{Digits("es", "4#1*"), "n_4 n_1"},
	}
	for i, c := range cases {
		if got := ids(c.got); got != c.want {
			t.Errorf("case %d: %q, want %q", i, got, c.want)
		}
	}
	if r := Wait("es", 4); r[0].Lang != "es" {
		t.Fatalf("language lost: %+v", r)
	}
}

func TestResolve(t *testing.T) {
	vars := map[string]string{"pos": " 7 ", "acct": "9012", "bad": "x"}
	cases := []struct {
		ref, want, err string
	}{
		{"welcome", "welcome", ""},
		{"number:{{pos}}", "n_7", ""},
		{"digits:{{acct}}", "n_9 n_0 n_1 n_2", ""},
		{"number:{{bad}}", "", "not a number"},
		{"nope", "", "not in the catalogue"},
		{"zzz:1", "", "not a prompt reference"},
	}
	for _, c := range cases {
		got, err := Resolve("en", c.ref, vars)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err %v, want %q", c.ref, err, c.err)
			}
			continue
		}
		if err != nil || ids(got) != c.want {
			t.Errorf("%s: %q %v, want %q", c.ref, ids(got), err, c.want)
		}
	}
	got, _ := Resolve("es", "upload:0190a1b2-0000-7000-8000-000000000001", nil)
	if len(got) != 1 || got[0].MediaID != "0190a1b2-0000-7000-8000-000000000001" {
		t.Fatalf("upload %+v", got)
	}
}

// wavFile builds a WAV file around data.
func wavFile(tag, channels, rate, bits int, data []byte) []byte {
	b := []byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00")
	b = binary.LittleEndian.AppendUint16(b, uint16(tag))
	b = binary.LittleEndian.AppendUint16(b, uint16(channels))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate*channels*bits/8))
	b = binary.LittleEndian.AppendUint16(b, uint16(channels*bits/8))
	b = binary.LittleEndian.AppendUint16(b, uint16(bits))
	b = append(b, "LIST\x04\x00\x00\x00INFO"...)
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = append(b, data...)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

// sine16 makes interleaved 16-bit samples of a sine of freq Hz in every channel.
func sine16(rate, channels int, freq, secs, amp float64) []byte {
	n := int(float64(rate) * secs)
	var b []byte
	for i := range n {
		v := int16(amp * 32767 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
		for range channels {
			b = binary.LittleEndian.AppendUint16(b, uint16(v))
		}
	}
	return b
}

func rms(s []int16) float64 {
	var sum float64
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(s)))
}

// crossings counts sign changes, about twice the frequency per second.
func crossings(s []int16) int {
	n := 0
	for i := 1; i < len(s); i++ {
		if (s[i-1] < 0) != (s[i] < 0) {
			n++
		}
	}
	return n
}

func TestParseWAVRefusesWithClearErrors(t *testing.T) {
	ok := sine16(8000, 1, 440, 0.5, 0.5)
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"not riff", []byte("ID3\x03 some mp3"), "not a WAV file"},
		{"empty", nil, "not a WAV file"},
		{"six channels ok but nine not", wavFile(1, 9, 8000, 16, ok), "has 9 channels"},
		{"rate", wavFile(1, 1, 4000, 16, ok), "sampled at 4000 Hz"},
		{"bits", wavFile(1, 1, 8000, 12, ok), "12-bit samples"},
		{"mp3 in wav", wavFile(0x55, 1, 8000, 16, ok), "WAV format 85"},
		{"no data", wavFile(1, 1, 8000, 16, nil)[:len(wavFile(1, 1, 8000, 16, nil))-8], "no data chunk"},
		{"silent", wavFile(1, 1, 8000, 16, []byte{1}), "holds no audio"},
		{"truncated fmt", append([]byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00"), 1, 0), "truncated"},
		{"too long", wavFile(1, 1, 8000, 8, make([]byte, 8000*601)), "lasts 601 s"},
		{"too large", make([]byte, MaxUploadBytes+1), "larger than 20 MiB"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := PrepareUpload(c.file)
			e, isField := err.(*atende.Error)
			if !isField || e.Field != "file" || !strings.Contains(e.Message, c.want) {
				t.Fatalf("err %v, want a file error with %q", err, c.want)
			}
		})
	}
}

func TestPrepareUploadConverts(t *testing.T) {
	t.Run("telephony format passes unchanged", func(t *testing.T) {
		data := sine16(8000, 1, 440, 0.5, 0.5)
		out, f, err := PrepareUpload(wavFile(1, 1, 8000, 16, data))
		if err != nil {
			t.Fatal(err)
		}
		if f.Rate != 8000 || f.Channels != 1 || f.Bits != 16 {
			t.Fatalf("format %+v", f)
		}
		if string(out[44:]) != string(data) || len(out) != 44+len(data) {
			t.Fatal("samples changed")
		}
	})
	t.Run("44.1 kHz stereo resampled and downmixed", func(t *testing.T) {
		out, f, err := PrepareUpload(wavFile(1, 2, 44100, 16, sine16(44100, 2, 440, 1, 0.5)))
		if err != nil {
			t.Fatal(err)
		}
		if f.Rate != 44100 || f.Channels != 2 {
			t.Fatalf("format %+v", f)
		}
		a, err := ParseWAV(out)
		if err != nil {
			t.Fatal(err)
		}
		s := a.Telephony()
		if a.Format.Rate != 8000 || a.Format.Channels != 1 || len(s) < 7990 || len(s) > 8000 {
			t.Fatalf("converted %+v with %d samples", a.Format, len(s))
		}
		if c := crossings(s); c < 870 || c > 890 {
			t.Fatalf("%d zero crossings in 1 s; a 440 Hz tone has 880", c)
		}
		if r := rms(s[100 : len(s)-100]); math.Abs(r-0.5*32767/math.Sqrt2) > 400 {
			t.Fatalf("rms %.0f, level not kept", r)
		}
	})
	t.Run("tones above 4 kHz are filtered out, not folded back", func(t *testing.T) {
		out, _, err := PrepareUpload(wavFile(1, 1, 48000, 16, sine16(48000, 1, 6000, 1, 0.5)))
		if err != nil {
			t.Fatal(err)
		}
		a, _ := ParseWAV(out)
		s := a.Telephony()
		if r := rms(s[200 : len(s)-200]); r > 0.5*32767/math.Sqrt2/30 {
			t.Fatalf("a 6 kHz tone left rms %.0f after resampling to 8 kHz", r)
		}
	})
	t.Run("other sample formats decode to the same tone", func(t *testing.T) {
		ref := sine16(8000, 1, 1000, 0.2, 0.5)
		var s24, s32, f32, s8, ul []byte
		for i := 0; i < len(ref); i += 2 {
			v := int16(binary.LittleEndian.Uint16(ref[i:]))
			s24 = append(s24, 0, byte(v), byte(v>>8))
			s32 = binary.LittleEndian.AppendUint32(s32, uint32(int32(v)<<16))
			f32 = binary.LittleEndian.AppendUint32(f32, math.Float32bits(float32(v)/32768))
			s8 = append(s8, byte(int(v>>8)+128))
			ul = append(ul, linearToULaw(v))
		}
		want, _ := ParseWAV(wavFile(1, 1, 8000, 16, ref))
		wantS := want.Telephony()
		for _, c := range []struct {
			name          string
			tag, bits     int
			data          []byte
			maxDifference int
		}{
			{"pcm24", 1, 24, s24, 0}, {"pcm32", 1, 32, s32, 0}, {"float32", 3, 32, f32, 1},
			{"pcm8", 1, 8, s8, 256}, {"ulaw", 7, 8, ul, 1100},
		} {
			a, err := ParseWAV(wavFile(c.tag, 1, 8000, c.bits, c.data))
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			got := a.Telephony()
			if len(got) != len(wantS) {
				t.Fatalf("%s: %d samples, want %d", c.name, len(got), len(wantS))
			}
			for i := range got {
				if d := int(got[i]) - int(wantS[i]); d > c.maxDifference || d < -c.maxDifference {
					t.Fatalf("%s: sample %d is %d, want %d", c.name, i, got[i], wantS[i])
				}
			}
		}
	})
}

// linearToULaw is the G.711 μ-law encoder, for building test files.
func linearToULaw(v int16) byte {
	const bias, clip = 0x84, 32635
	s := int(v)
	sign := 0
	if s < 0 {
		s, sign = -s, 0x80
	}
	s = min(s, clip) + bias
	exp := 7
	for mask := 0x4000; s&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (s >> (exp + 3)) & 0x0f
	return ^byte(sign | exp<<4 | mant)
}

func TestG711Expansion(t *testing.T) {
	for _, c := range []struct {
		got, want int16
	}{
		{ulaw(0xff), 0}, {ulaw(0x7f), 0}, {ulaw(0x00), -32124}, {ulaw(0x80), 32124},
		{alaw(0xd5), 8}, {alaw(0x55), -8}, {alaw(0xaa), 32256}, {alaw(0x2a), -32256},
	} {
		if c.got != c.want {
			t.Errorf("got %d want %d", c.got, c.want)
		}
	}
}

func TestIDsListsTheCatalogue(t *testing.T) {
	got := IDs("en")
	if !slices.Contains(got, "welcome") || !slices.Contains(got, "n_90") || slices.Contains(got, "n_and") {
		t.Fatalf("en ids %v", got)
	}
	if IDs("../") != nil {
		t.Fatal("listed outside the catalogue")
	}
}

func FuzzParseWAV(f *testing.F) {
	f.Add(wavFile(1, 1, 8000, 16, sine16(8000, 1, 440, 0.01, 0.5)))
	f.Add(wavFile(1, 2, 44100, 24, make([]byte, 60)))
	f.Add(wavFile(7, 1, 8000, 8, []byte{1, 2, 3}))
	f.Add(wavFile(3, 1, 16000, 32, make([]byte, 16)))
	f.Add([]byte("RIFF\xff\xff\xff\xffWAVEdata\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseWAV(b)
		if err != nil {
			if e, ok := err.(*atende.Error); !ok || e.Field != "file" {
				t.Fatalf("not a file error: %v", err)
			}
			return
		}
		if a.Format.Channels < 1 || len(a.Samples)%a.Format.Channels != 0 || len(a.Samples) == 0 {
			t.Fatalf("bad audio %+v (%d samples)", a.Format, len(a.Samples))
		}
		for _, s := range a.Samples {
			if s < -1 || s > 1 || s != s {
				t.Fatalf("sample %v out of range", s)
			}
		}
		if a.Frames() < 4000 { // keep the fuzzer fast
			s := a.Telephony()
			back, err := ParseWAV(EncodeWAV(s))
			if len(s) > 0 && (err != nil || len(back.Samples) != len(s)) {
				t.Fatalf("re-encoded audio does not parse: %v", err)
			}
		}
	})
}
