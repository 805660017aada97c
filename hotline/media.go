package hotline

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"llamenos/ari"
	"llamenos/rtc"
)

// setupMedia builds the answered call's voice path: a mixing bridge with a
// client-chosen id, the relay's loopback socket, and an externalMedia
// channel sending to it. The caller and the externalMedia channel join the
// bridge once the latter is in the app (onMediaStart).
func (c *call) setupMedia() error {
	r, err := c.e.d.RTC.NewRelay(c.id)
	if err != nil {
		return err
	}
	c.relay, c.relayState = r, 0
	pk, id, notify, mbox := c.answerer, c.id, c.e.d.Notify, c.mbox
	r.OnLocalCandidate(func(b []byte) {
		var cand json.RawMessage
		if b != nil {
			cand = json.RawMessage(b)
		}
		notify.Candidate(pk, id, cand)
	})
	r.OnState(func(s rtc.State) { mbox.Push(relayStateMsg{relay: r, state: s}) })
	if c.transcribed {
		// Both sides, on one time line from the answer: the caller was
		// told before the ring.
		c.tr = startCapture(captureSpec{
			tap: r.Tap(transcriptTapFrames), newAudio: c.e.pipe.NewAudio,
			caller: true, volunteer: true, align: true, startedAt: time.Now(), mbox: c.mbox,
		})
	}
	return c.setupBridge()
}

// setupBridge creates the mixing bridge and the externalMedia channel
// sending to the call's relay.
func (c *call) setupBridge() error {
	c.bridgeID = c.id + "-bridge"
	c.e.own(ari.BridgeKey(c.bridgeID), c)
	c.sub.Expect(ari.BridgeKey(c.bridgeID))
	if _, err := c.e.d.ARI.CreateBridge(c.ctx(), c.bridgeID, ari.BridgeOptions{Types: []string{ari.BridgeMixing}, Name: c.e.cfg.App}); err != nil {
		// teardownMedia destroys it anyway: a request that failed (a
		// timeout) may still have taken effect.
		return fmt.Errorf("create bridge: %w", err)
	}
	return c.createMediaChannel()
}

func (c *call) createMediaChannel() error {
	c.mediaSeq++
	c.mediaID = fmt.Sprintf("%s-media-%d", c.id, c.mediaSeq)
	c.mediaInStasis, c.mediaCut, c.bridged = false, false, false
	// Routing first: the StasisStart can beat the HTTP response.
	c.e.own(ari.ChannelKey(c.mediaID), c)
	c.sub.Expect(ari.ChannelKey(c.mediaID))
	ch, err := c.e.d.ARI.ExternalMedia(c.ctx(), ari.ExternalMediaParams{
		ChannelID:    c.mediaID,
		ExternalHost: c.relay.LocalAddr().String(),
		Format:       "ulaw",
		Data:         mediaMarker,
	})
	if err != nil {
		// mediaID stays set: teardownMedia hangs it up in case the failed
		// request created it after all.
		return fmt.Errorf("create externalMedia channel: %w", err)
	}
	addr, err := ch.UnicastRTPAddr()
	ch.Wipe()
	if err != nil {
		addr, err = c.unicastAddrFromVars()
	}
	if err != nil {
		// The relay adopts the source of the first valid RTP packet, which
		// on loopback can only be Asterisk: the call can go on.
		c.log.Warn("externalMedia address unknown; the relay will learn it from the first packet", "err", err)
	} else if err := c.relay.SetRemote(addr); err != nil {
		return fmt.Errorf("relay remote: %w", err)
	}
	c.arm(tMedia, mediaStartTimeout)
	return nil
}

// unicastAddrFromVars reads UNICASTRTP_LOCAL_ADDRESS/PORT when the
// externalMedia response lacked its channelvars.
func (c *call) unicastAddrFromVars() (netip.AddrPort, error) {
	host, err := c.e.d.ARI.GetChannelVar(c.ctx(), c.mediaID, ari.VarUnicastRTPLocalAddress)
	if err != nil {
		return netip.AddrPort{}, err
	}
	port, err := c.e.d.ARI.GetChannelVar(c.ctx(), c.mediaID, ari.VarUnicastRTPLocalPort)
	if err != nil {
		return netip.AddrPort{}, err
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%s: %w", ari.VarUnicastRTPLocalAddress, err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return netip.AddrPort{}, errors.New(ari.VarUnicastRTPLocalPort + " is not a port")
	}
	return netip.AddrPortFrom(a, uint16(p)), nil
}

// onMediaStart: the externalMedia channel is in the app; bridge it with the
// caller (Asterisk answers 422 before this point).
func (c *call) onMediaStart() {
	if (c.phase != phConnected && c.phase != phVoicemail) || c.bridged || c.bridgeID == "" {
		return
	}
	c.mediaInStasis = true
	c.disarm(tMedia)
	if err := c.e.d.ARI.AddChannel(c.ctx(), c.bridgeID, []string{c.chanID, c.mediaID}, nil); err != nil {
		if ari.IsNotFound(err) || ari.StatusOf(err) == 400 {
			// The caller or the bridge is already gone; its own event ends the call.
			c.log.Info("add to bridge: already gone", "err", err)
			return
		}
		c.mediaLost(fmt.Sprintf("add to bridge: %v", err))
		return
	}
	c.bridged = true
	c.checkMedia() // the volunteer's media may have dropped already
}

// teardownMedia leaves nothing in Asterisk and closes the relay. It is
// idempotent; ids are cleared so late events of these resources match
// nothing.
func (c *call) teardownMedia() {
	c.disarm(tMedia)
	if id := c.mediaID; id != "" {
		c.mediaID = ""
		if err := c.e.d.ARI.Hangup(c.ctx(), id, ari.ReasonNormal); err != nil && !ari.IsNotFound(err) {
			c.log.Error("hang up the media channel", "media", id, "err", err)
		}
		c.e.disown(ari.ChannelKey(id))
	}
	if id := c.bridgeID; id != "" {
		c.bridgeID = ""
		if err := c.e.d.ARI.DestroyBridge(c.ctx(), id); err != nil && !ari.IsNotFound(err) {
			c.log.Error("destroy the bridge", "bridge", id, "err", err)
		}
		c.e.disown(ari.BridgeKey(id))
	}
	c.bridged, c.mediaInStasis, c.mediaCut = false, false, false
	c.onHold, c.mediaDown = false, false // the music went with the bridge
	c.stopMediaCheck()
	if c.relay != nil {
		_ = c.relay.Close()
		c.audio.Add(c.relay.Stats())
		c.relayed = true
		c.relay = nil
	}
}

func isStaleCandidate(err error) bool { return errors.Is(err, rtc.ErrStaleCandidate) }

// isMediaChannel tells the daemon's own media legs (externalMedia, snoop)
// from callers.
func isMediaChannel(ch *ari.Channel, args []string) bool {
	switch ch.Technology() {
	case "UnicastRTP", "Snoop", "AudioSocket", "WebSocket":
		return true
	}
	return len(args) > 0 && args[0] == mediaMarker
}

// signalError marks the relay's refusals of what the browser sent as
// ErrBadSignal, so the API answers 400 without knowing the media package.
func signalError(err error) error {
	if errors.Is(err, rtc.ErrBadOffer) || errors.Is(err, rtc.ErrNoPCMU) || errors.Is(err, rtc.ErrBadCandidate) {
		return fmt.Errorf("%w: %w", ErrBadSignal, err)
	}
	return err
}
