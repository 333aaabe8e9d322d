//go:build !unix

package runio

import "errors"

func mkfifo(string) error { return errors.New("no named pipes") }
