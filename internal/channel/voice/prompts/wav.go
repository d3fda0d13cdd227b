package prompts

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/atende/atende"
)

// Telephony audio: what the catalogue holds and uploads are converted to.
const (
	Rate     = 8000
	Channels = 1
	Bits     = 16
)

// Upload limits.
const (
	MaxUploadBytes = 20 << 20 // 20 MiB
	MaxUploadSec   = 600
)

// WAV formats read (the fmt chunk's format tag).
const (
	formatPCM        = 1
	formatFloat      = 3
	formatALaw       = 6
	formatMuLaw      = 7
	formatExtensible = 0xFFFE
)

// Format describes a WAV file's audio.
type Format struct {
	Tag      int `json:"format_tag"`
	Channels int `json:"channels"`
	Rate     int `json:"rate"`
	Bits     int `json:"bits"`
}

// Audio is a decoded WAV: its format and its samples as float in [-1, 1],
// interleaved by channel.
type Audio struct {
	Format  Format
	Samples []float32
}

// Frames is the number of sample frames (samples per channel).
func (a *Audio) Frames() int { return len(a.Samples) / a.Format.Channels }

// Seconds is the audio's duration.
func (a *Audio) Seconds() float64 { return float64(a.Frames()) / float64(a.Format.Rate) }

// uploadError is the field error an upload is refused with.
func uploadError(format string, args ...any) error {
	return atende.FieldError("file", format, args...)
}

// ParseWAV reads a RIFF/WAVE file: PCM of 8, 16, 24 or 32 bits, 32-bit
// float, G.711 A-law or μ-law, 1 to 8 channels at 8 to 96 kHz. Its errors
// are field errors on "file" that say what is wrong.
func ParseWAV(b []byte) (*Audio, error) {
	if len(b) > MaxUploadBytes {
		return nil, uploadError("is larger than %d MiB", MaxUploadBytes>>20)
	}
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, uploadError("is not a WAV file (no RIFF/WAVE header)")
	}
	var f *Format
	var data []byte
	for p := 12; p+8 <= len(b); {
		id := string(b[p : p+4])
		size := int64(binary.LittleEndian.Uint32(b[p+4 : p+8]))
		body := int64(p + 8)
		end := body + size
		if end > int64(len(b)) {
			if id != "data" {
				return nil, uploadError("is truncated: chunk %q claims %d bytes", printable(id), size)
			}
			end = int64(len(b)) // a data chunk cut short, as streaming writers leave it
		}
		chunk := b[body:end]
		switch id {
		case "fmt ":
			if f != nil {
				return nil, uploadError("has two fmt chunks")
			}
			var err error
			if f, err = parseFmt(chunk); err != nil {
				return nil, err
			}
		case "data":
			if f == nil {
				return nil, uploadError("has its data before its fmt chunk")
			}
			if data != nil {
				return nil, uploadError("has two data chunks")
			}
			data = chunk
		}
		p = int(end + end%2) // chunks are padded to an even size
	}
	if f == nil {
		return nil, uploadError("has no fmt chunk")
	}
	if data == nil {
		return nil, uploadError("has no data chunk")
	}
	frame := f.Channels * f.Bits / 8
	data = data[:len(data)-len(data)%frame]
	if len(data) == 0 {
		return nil, uploadError("holds no audio")
	}
	if secs := len(data) / frame / f.Rate; secs > MaxUploadSec {
		return nil, uploadError("lasts %d s; at most %d s", secs, MaxUploadSec)
	}
	return &Audio{Format: *f, Samples: decode(f, data)}, nil
}

func parseFmt(c []byte) (*Format, error) {
	if len(c) < 16 {
		return nil, uploadError("has a fmt chunk of %d bytes, too short", len(c))
	}
	f := &Format{
		Tag:      int(binary.LittleEndian.Uint16(c[0:2])),
		Channels: int(binary.LittleEndian.Uint16(c[2:4])),
		Rate:     int(binary.LittleEndian.Uint32(c[4:8])),
		Bits:     int(binary.LittleEndian.Uint16(c[14:16])),
	}
	if f.Tag == formatExtensible {
		if len(c) < 40 {
			return nil, uploadError("has a WAVE_FORMAT_EXTENSIBLE fmt chunk of %d bytes, too short", len(c))
		}
		f.Tag = int(binary.LittleEndian.Uint16(c[24:26])) // the sub-format GUID starts with the tag
	}
	switch {
	case f.Channels < 1 || f.Channels > 8:
		return nil, uploadError("has %d channels; 1 to 8 are accepted (mono is best)", f.Channels)
	case f.Rate < 8000 || f.Rate > 96000:
		return nil, uploadError("is sampled at %d Hz; 8000 to 96000 Hz are accepted", f.Rate)
	}
	ok := false
	switch f.Tag {
	case formatPCM:
		ok = f.Bits == 8 || f.Bits == 16 || f.Bits == 24 || f.Bits == 32
	case formatFloat:
		ok = f.Bits == 32
	case formatALaw, formatMuLaw:
		ok = f.Bits == 8
	default:
		return nil, uploadError("uses WAV format %d; PCM, float, A-law and μ-law are accepted", f.Tag)
	}
	if !ok {
		return nil, uploadError("has %d-bit samples, which its format %d does not have", f.Bits, f.Tag)
	}
	return f, nil
}

func decode(f *Format, data []byte) []float32 {
	n := len(data) / (f.Bits / 8)
	out := make([]float32, n)
	for i := range n {
		switch {
		case f.Tag == formatALaw:
			out[i] = float32(alaw(data[i])) / 32768
		case f.Tag == formatMuLaw:
			out[i] = float32(ulaw(data[i])) / 32768
		case f.Tag == formatFloat:
			v := math.Float32frombits(binary.LittleEndian.Uint32(data[i*4:]))
			if v != v { // NaN
				v = 0
			}
			out[i] = max(-1, min(1, v))
		case f.Bits == 8:
			out[i] = (float32(data[i]) - 128) / 128
		case f.Bits == 16:
			out[i] = float32(int16(binary.LittleEndian.Uint16(data[i*2:]))) / 32768
		case f.Bits == 24:
			p := data[i*3:]
			v := int32(uint32(p[0])<<8|uint32(p[1])<<16|uint32(p[2])<<24) >> 8
			out[i] = float32(v) / 8388608
		default:
			out[i] = float32(float64(int32(binary.LittleEndian.Uint32(data[i*4:]))) / 2147483648)
		}
	}
	return out
}

// ulaw and alaw expand G.711 bytes to 16-bit linear samples.
func ulaw(u byte) int16 {
	u = ^u
	t := (int(u&0x0f) << 3) + 0x84
	t <<= (u & 0x70) >> 4
	if u&0x80 != 0 {
		return int16(0x84 - t)
	}
	return int16(t - 0x84)
}

func alaw(a byte) int16 {
	a ^= 0x55
	t := int(a&0x0f) << 4
	seg := int(a&0x70) >> 4
	switch seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}

// Telephony converts the audio to 8 kHz mono 16-bit samples: channels are
// averaged, and other rates resampled through a windowed-sinc low-pass
// filter so nothing above 4 kHz folds back as noise.
func (a *Audio) Telephony() []int16 {
	ch := a.Format.Channels
	mono := make([]float64, a.Frames())
	for i := range mono {
		var s float64
		for c := range ch {
			s += float64(a.Samples[i*ch+c])
		}
		mono[i] = s / float64(ch)
	}
	if a.Format.Rate != Rate {
		mono = resample(mono, a.Format.Rate, Rate)
	}
	out := make([]int16, len(mono))
	for i, v := range mono {
		out[i] = int16(max(-32768, min(32767, math.Round(v*32768))))
	}
	return out
}

// resample converts x from rate in to rate out with a Hann-windowed sinc.
func resample(x []float64, in, out int) []float64 {
	ratio := float64(out) / float64(in)
	cutoff := min(1.0, ratio) * 0.95 // of the lower Nyquist, leaving a transition band
	const halfTaps = 16
	width := float64(halfTaps) / min(1.0, ratio) // in input samples
	n := int(float64(len(x)) * ratio)
	y := make([]float64, n)
	for i := range y {
		t := float64(i) / ratio // position in input samples
		lo := max(0, int(math.Ceil(t-width)))
		hi := min(len(x)-1, int(math.Floor(t+width)))
		var sum, wsum float64
		for k := lo; k <= hi; k++ {
			d := float64(k) - t
			w := 0.5 + 0.5*math.Cos(math.Pi*d/width)
			h := cutoff * sinc(cutoff*d) * w
			sum += x[k] * h
			wsum += h
		}
		if wsum != 0 {
			y[i] = sum / wsum
		}
	}
	return y
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// EncodeWAV writes 8 kHz mono 16-bit samples as a WAV file.
func EncodeWAV(samples []int16) []byte {
	b := make([]byte, 44+2*len(samples))
	copy(b[0:], "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+2*len(samples)))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], formatPCM)
	binary.LittleEndian.PutUint16(b[22:], Channels)
	binary.LittleEndian.PutUint32(b[24:], Rate)
	binary.LittleEndian.PutUint32(b[28:], Rate*Channels*Bits/8)
	binary.LittleEndian.PutUint16(b[32:], Channels*Bits/8)
	binary.LittleEndian.PutUint16(b[34:], Bits)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(2*len(samples)))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(s))
	}
	return b
}

// PrepareUpload validates an uploaded prompt and returns it as the 8 kHz
// mono 16-bit PCM WAV the voice channel plays, with its original format. A
// file already in that format is returned as it was sent, less any extra
// chunks.
func PrepareUpload(b []byte) ([]byte, Format, error) {
	a, err := ParseWAV(b)
	if err != nil {
		return nil, Format{}, err
	}
	if a.Seconds() < 0.1 {
		return nil, a.Format, uploadError("lasts under 0.1 s")
	}
	return EncodeWAV(a.Telephony()), a.Format, nil
}

func printable(s string) string {
	for _, r := range s {
		if r < ' ' || r > '~' {
			return fmt.Sprintf("%x", s)
		}
	}
	return s
}
