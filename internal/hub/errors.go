package hub

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// Errors returned by the package can be matched with errors.Is against these
// sentinels. Their messages are written for people: one sentence, saying what
// to do, without the chain of wrapped causes that led there.
var (
	// ErrAuth: the repository is gated or private and the request carried no
	// token, or one without access.
	ErrAuth = errors.New("hub: authentication required")
	// ErrNotFound: no such repository, revision or file on the Hub.
	ErrNotFound = errors.New("hub: not found")
	// ErrUnreachable: the Hub could not be contacted at all.
	ErrUnreachable = errors.New("hub: unreachable")
	// ErrNotCached: the model is not in the cache and the client is offline,
	// or Remove was asked for something the cache does not hold.
	ErrNotCached = errors.New("hub: not in cache")
	// ErrCorrupt: a downloaded blob did not match its size or sha256; it was
	// deleted, not placed.
	ErrCorrupt = errors.New("hub: corrupt download")
)

// hubError carries a finished sentence plus a sentinel for errors.Is. It can
// also wrap a cause (for errors.As) without printing it.
type hubError struct {
	kind  error
	msg   string
	cause error
}

func (e *hubError) Error() string { return e.msg }

func (e *hubError) Is(target error) bool { return target == e.kind }

func (e *hubError) Unwrap() error { return e.cause }

func newError(kind error, format string, a ...any) error {
	return &hubError{kind: kind, msg: fmt.Sprintf(format, a...)}
}

// tokenHelp tells the user the two ways to give a token, naming the file
// this client would read, which depends on HF_HOME and HF_TOKEN_PATH.
func (c *Client) tokenHelp() string {
	return fmt.Sprintf("set HF_TOKEN to a token from %s/settings/tokens, or save it in %s", c.endpoint, c.tokenPath)
}

// statusError turns a Hub error response into one sentence. what names the
// thing asked for ("microsoft/x@main", "microsoft/x@main: config.json").
// The Hub says why in X-Error-Code; without it the status decides.
func (c *Client) statusError(resp *http.Response, ref Ref, file string) error {
	code := resp.Header.Get("X-Error-Code")
	what := ref.Repo
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		switch {
		case code == "RepoNotFound" && c.token == "":
			// The Hub answers 401 for unknown repositories when no token is
			// sent, so as not to reveal which private ones exist.
			return newError(ErrAuth, "model %s was not found on %s, or it is private or gated and needs a token: %s", what, c.endpoint, c.tokenHelp())
		case c.token == "":
			return newError(ErrAuth, "model %s is gated or private and needs a Hugging Face token: accept its terms at %s/%s, then %s", what, c.endpoint, ref.Repo, c.tokenHelp())
		case resp.StatusCode == http.StatusUnauthorized:
			return newError(ErrAuth, "the Hugging Face token was rejected for %s (invalid or expired): %s", what, c.tokenHelp())
		default:
			return newError(ErrAuth, "the Hugging Face token has no access to %s: accept its terms at %s/%s, or use a token with read access (%s)", what, c.endpoint, ref.Repo, c.tokenHelp())
		}
	case http.StatusNotFound:
		switch code {
		case "RevisionNotFound":
			return newError(ErrNotFound, "revision %q not found in model %s", ref.rev(), ref.Repo)
		case "EntryNotFound":
			return newError(ErrNotFound, "file %q not found in %s at revision %q", file, ref.Repo, ref.rev())
		case "RepoNotFound":
			return newError(ErrNotFound, "model %s not found on %s", ref.Repo, c.endpoint)
		}
		if file != "" {
			return newError(ErrNotFound, "file %q not found in %s at revision %q", file, ref.Repo, ref.rev())
		}
		return newError(ErrNotFound, "model %s or its revision %q not found on %s", ref.Repo, ref.rev(), c.endpoint)
	case http.StatusTooManyRequests:
		return retryable(fmt.Errorf("the Hub is rate-limiting requests for %s (HTTP 429); try again later", what))
	}
	msg := strings.TrimSpace(resp.Header.Get("X-Error-Message"))
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	err := fmt.Errorf("the Hub answered HTTP %d for %s: %s", resp.StatusCode, what, msg)
	if resp.StatusCode >= 500 {
		return retryable(err)
	}
	return err
}

// netError rewrites transport failures. A failed dial (no network, DNS,
// refused) is common enough to deserve one sentence with the way out.
func (c *Client) netError(err error) error {
	var dns *net.DNSError
	var op *net.OpError
	if errors.As(err, &dns) || (errors.As(err, &op) && op.Op == "dial") {
		return &hubError{kind: ErrUnreachable, cause: err, msg: fmt.Sprintf(
			"cannot reach the Hugging Face Hub at %s (%s); if the model is already cached, set HF_HUB_OFFLINE=1 to use it",
			c.endpoint, rootCause(err))}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return retryable(fmt.Errorf("request to %s failed: %w", c.endpoint, ue.Err))
	}
	return retryable(err)
}

// rootCause returns the innermost message ("connection refused", "no such
// host") without the layers of "Get …: dial tcp …:" around it.
func rootCause(err error) string {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return "cannot resolve " + dns.Name
	}
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// retryableError marks failures worth another attempt: interrupted bodies,
// 5xx answers, rate limits.
type retryableError struct{ error }

func (e retryableError) Unwrap() error { return e.error }

func retryable(err error) error { return retryableError{err} }

func isRetryable(err error) bool {
	var r retryableError
	return errors.As(err, &r)
}

// cacheError says that the cache itself is the problem, naming the path:
// users must be able to tell "disk full" or "not writable" from a network
// failure without reading a stack of wrapped errors.
func (c *Client) cacheError(action string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("hub cache %s: cannot %s %s: %w", c.cacheDir, action, pe.Path, pe.Err)
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return fmt.Errorf("hub cache %s: cannot %s %s: %w", c.cacheDir, action, le.New, le.Err)
	}
	return fmt.Errorf("hub cache %s: cannot %s: %w", c.cacheDir, action, err)
}
