//go:build !whisper

package transcribe

// Built is false: this build was made without the tag `whisper`, so it has
// no speech recognition engine. Voicemail still works (sealed audio).
const Built = false

// OpenWhisper is the engine of this build: there is none.
func OpenWhisper(model string, threads int) (Engine, error) { return nil, ErrNotBuilt }
