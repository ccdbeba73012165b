package keyguard

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"

	"github.com/agentphone-mcp/agentphone-mcp/fsguard"
)

// maxKeyFileSize bounds how much of a key file is read.
const maxKeyFileSize = 64 << 10

// LoadKey returns the API key from filePath (AGENTPHONE_API_KEY_FILE) when it is set, otherwise
// from envValue (AGENTPHONE_API_KEY). Surrounding whitespace is trimmed. Both empty gives the
// zero Secret and no error. A key file must be a regular file, not a symbolic link, owned by this
// user, that neither group nor others can access (chmod 600); a key may not contain spaces or control characters. Errors never contain
// the key.
func LoadKey(envValue, filePath string) (Secret, error) {
	if filePath != "" {
		return loadKeyFile(filePath)
	}
	return checkKey(strings.TrimSpace(envValue), "AGENTPHONE_API_KEY")
}

func loadKeyFile(path string) (Secret, error) {
	// Not through a symbolic link, a regular file owned by this user, no access for group or
	// others.
	f, err := fsguard.OpenFile(path, os.O_RDONLY, 0, 0o077)
	if err != nil {
		if errors.Is(err, fsguard.ErrUnsafe) {
			return Secret{}, fmt.Errorf("API key file: %w", err)
		}
		return Secret{}, fmt.Errorf("read API key file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return Secret{}, fmt.Errorf("read API key file %s: %w", path, err)
	}
	if len(b) > maxKeyFileSize {
		return Secret{}, fmt.Errorf("API key file %s is larger than %d bytes; it should hold only the key", path, maxKeyFileSize)
	}
	key := strings.TrimSpace(string(b))
	if key == "" {
		return Secret{}, fmt.Errorf("API key file %s is empty; put the AgentPhone API key in it", path)
	}
	return checkKey(key, "API key file "+path)
}

// errKeyChars is returned for keys with inner whitespace or control characters.
var errKeyChars = errors.New("contains spaces or control characters; it must be a single token")

func checkKey(key, source string) (Secret, error) {
	if key == "" {
		return Secret{}, nil
	}
	for _, r := range key {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == 0xFFFD {
			return Secret{}, fmt.Errorf("the API key from %s %w", source, errKeyChars)
		}
	}
	return NewSecret(key), nil
}
