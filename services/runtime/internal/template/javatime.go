package template

import (
	"fmt"
	"strings"
	"time"
)

// FormatJava formats t with a java.text.SimpleDateFormat pattern, the
// format language of Apigee's timeFormat functions and system.time.
// Supported letters: y M d H h m s S E a z Z X; text in single quotes is
// literal.
func FormatJava(t time.Time, pattern string) string {
	var b strings.Builder
	for i := 0; i < len(pattern); {
		c := pattern[i]
		if c == '\'' {
			end := strings.IndexByte(pattern[i+1:], '\'')
			if end < 0 {
				b.WriteString(pattern[i+1:])
				break
			}
			if end == 0 {
				b.WriteByte('\'')
			} else {
				b.WriteString(pattern[i+1 : i+1+end])
			}
			i += end + 2
			continue
		}
		if !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			b.WriteByte(c)
			i++
			continue
		}
		j := i
		for j < len(pattern) && pattern[j] == c {
			j++
		}
		n := j - i
		i = j
		switch c {
		case 'y':
			if n == 2 {
				fmt.Fprintf(&b, "%02d", t.Year()%100)
			} else {
				fmt.Fprintf(&b, "%0*d", n, t.Year())
			}
		case 'M':
			switch {
			case n >= 4:
				b.WriteString(t.Month().String())
			case n == 3:
				b.WriteString(t.Month().String()[:3])
			default:
				fmt.Fprintf(&b, "%0*d", n, int(t.Month()))
			}
		case 'd':
			fmt.Fprintf(&b, "%0*d", n, t.Day())
		case 'H':
			fmt.Fprintf(&b, "%0*d", n, t.Hour())
		case 'h':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			fmt.Fprintf(&b, "%0*d", n, h)
		case 'm':
			fmt.Fprintf(&b, "%0*d", n, t.Minute())
		case 's':
			fmt.Fprintf(&b, "%0*d", n, t.Second())
		case 'S':
			ms := t.Nanosecond() / 1e6
			s := fmt.Sprintf("%03d", ms)
			if n > 3 {
				s += strings.Repeat("0", n-3)
			}
			b.WriteString(s)
		case 'E':
			if n >= 4 {
				b.WriteString(t.Weekday().String())
			} else {
				b.WriteString(t.Weekday().String()[:3])
			}
		case 'a':
			b.WriteString(t.Format("PM"))
		case 'z':
			b.WriteString(t.Format("MST"))
		case 'Z':
			b.WriteString(t.Format("-0700"))
		case 'X':
			if t.Location() == time.UTC {
				b.WriteByte('Z')
			} else if n == 1 {
				b.WriteString(t.Format("-07"))
			} else if n == 2 {
				b.WriteString(t.Format("-0700"))
			} else {
				b.WriteString(t.Format("-07:00"))
			}
		default:
			b.WriteString(strings.Repeat(string(c), n))
		}
	}
	return b.String()
}
