package email

import "fmt"

func sprintf(format string, v ...any) string { return fmt.Sprintf(format, v...) }
func sprint(v ...any) string                 { return fmt.Sprint(v...) }
