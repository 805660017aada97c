// The voice of one answered call: the browser is the WebRTC offerer, the
// daemon (Pion) answers; signaling goes over the app's WebSocket as
// rtc:offer / rtc:answer / rtc:candidate. Everything browser-specific is
// passed in, so the logic (codec preference, candidate queueing, re-offer on
// failure or after the socket came back) is tested with fakes.
//
// A re-offer builds a fresh RTCPeerConnection (new ICE and DTLS) that reuses
// the microphone track; the server accepts a later offer from the answering
// volunteer and replaces its side. Events from a replaced connection are
// ignored.

export const MIC_CONSTRAINTS = Object.freeze({
  audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  video: false,
});

// preferPCMU puts G.711 µ-law first: the daemon passes the trunk's PCMU
// through without transcoding. The other codecs stay, in their order.
export function preferPCMU(codecs) {
  const isPCMU = (c) => String(c.mimeType || '').toLowerCase() === 'audio/pcmu';
  return [...codecs.filter(isPCMU), ...codecs.filter((c) => !isPCMU(c))];
}

export function createMediaSession({
  callId,
  send, // (msg) → bool: the WebSocket's send
  getIceServers = async () => [],
  getUserMedia,
  RTCPeerConnection: PC,
  receiverCapabilities = () => null, // (kind) → {codecs} | null
  makeStream = (tracks) => new MediaStream(tracks),
  timers = globalThis,
  onState = () => {},
  onRemoteStream = () => {},
  onError = () => {},
  // A connection that went 'disconnected' gets this long to recover by
  // itself before a re-offer; a 'failed' one is re-offered at once.
  disconnectGraceMs = 4000,
  // Re-offers in a row that never reached 'connected' before giving up.
  maxRestarts = 5,
}) {
  let pc = null;
  let mic = null; // MediaStream
  let iceServers = [];
  let stopped = false;
  let muted = false;
  let restarts = 0;
  let graceTimer = null;
  let pendingCandidates = [];
  let state = 'new';
  let everConnected = false;
  // An offer that could not be sent (socket down) waits for resend().
  let unsent = null;

  function setState(s) {
    if (s === state) return;
    state = s;
    onState(s);
  }

  function clearGrace() {
    if (graceTimer) timers.clearTimeout(graceTimer);
    graceTimer = null;
  }

  function build() {
    const p = new PC({ iceServers });
    const track = mic.getAudioTracks()[0];
    let tr = null;
    if (typeof p.addTransceiver === 'function') {
      tr = p.addTransceiver(track, { direction: 'sendrecv', streams: [mic] });
    } else {
      p.addTrack(track, mic);
    }
    const caps = receiverCapabilities('audio');
    if (tr && typeof tr.setCodecPreferences === 'function' && caps && Array.isArray(caps.codecs)) {
      try {
        tr.setCodecPreferences(preferPCMU(caps.codecs));
      } catch {
        // An implementation that refuses the list still negotiates PCMU with the daemon.
      }
    }
    p.onicecandidate = (ev) => {
      if (p !== pc || !ev.candidate) return;
      const c = typeof ev.candidate.toJSON === 'function' ? ev.candidate.toJSON() : ev.candidate;
      send({ type: 'rtc:candidate', callId, candidate: c });
    };
    p.ontrack = (ev) => {
      if (p !== pc) return;
      onRemoteStream(ev.streams && ev.streams[0] ? ev.streams[0] : makeStream([ev.track]));
    };
    p.onconnectionstatechange = () => {
      if (p !== pc || stopped) return;
      const s = p.connectionState;
      if (s === 'connected') {
        everConnected = true;
        restarts = 0;
        clearGrace();
        setState('connected');
      } else if (s === 'failed') {
        clearGrace();
        reoffer('failed');
      } else if (s === 'disconnected') {
        setState('reconnecting');
        clearGrace();
        graceTimer = timers.setTimeout(() => {
          graceTimer = null;
          if (p === pc && p.connectionState !== 'connected') reoffer('disconnected');
        }, disconnectGraceMs);
      } else if (s === 'connecting' || s === 'new') {
        setState(everConnected ? 'reconnecting' : 'connecting');
      }
    };
    return p;
  }

  async function offer() {
    const p = pc;
    const o = await p.createOffer();
    if (p !== pc || stopped) return;
    await p.setLocalDescription(o);
    if (p !== pc || stopped) return;
    const msg = { type: 'rtc:offer', callId, sdp: p.localDescription ? p.localDescription.sdp : o.sdp };
    unsent = send(msg) ? null : msg;
  }

  async function start() {
    setState('connecting');
    try {
      iceServers = (await getIceServers()) || [];
    } catch {
      iceServers = [];
    }
    try {
      mic = await getUserMedia(MIC_CONSTRAINTS);
    } catch (err) {
      if (stopped) return;
      setState('no-microphone');
      onError('microphone', err);
      return;
    }
    if (stopped) {
      for (const t of mic.getTracks()) t.stop();
      return;
    }
    for (const t of mic.getAudioTracks()) t.enabled = !muted;
    pc = build();
    try {
      await offer();
    } catch (err) {
      onError('offer', err);
      reoffer('offer-error');
    }
  }

  function reoffer(why) {
    if (stopped || !mic) return;
    if (restarts >= maxRestarts) {
      if (state === 'failed') return;
      setState('failed');
      onError('gave-up', new Error(`rtc: no connection after ${restarts} re-offers (${why})`));
      return;
    }
    restarts++;
    clearGrace();
    const old = pc;
    pc = build();
    pendingCandidates = [];
    if (old) old.close();
    setState(everConnected ? 'reconnecting' : 'connecting');
    offer().catch((err) => onError('offer', err));
  }

  async function handle(msg) {
    if (stopped || !pc || msg.callId !== callId) return;
    const p = pc;
    if (msg.type === 'rtc:answer') {
      if (p.signalingState !== 'have-local-offer') return;
      try {
        await p.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
      } catch (err) {
        onError('answer', err);
        return;
      }
      const queued = pendingCandidates;
      pendingCandidates = [];
      for (const c of queued) await p.addIceCandidate(c).catch(() => {});
    } else if (msg.type === 'rtc:candidate') {
      if (!msg.candidate || typeof msg.candidate !== 'object') return;
      if (!p.remoteDescription) pendingCandidates.push(msg.candidate);
      else await p.addIceCandidate(msg.candidate).catch(() => {});
    }
  }

  return {
    start,
    handle,
    // socketBack: the WebSocket reconnected during the call. The daemon
    // learns a browser is gone from its socket and may have dropped its side
    // of the media while we were away; we cannot tell from here, so offer
    // again (a short gap in a healthy call beats a silent one).
    socketBack() {
      if (stopped || !mic) return;
      unsent = null;
      restarts = 0;
      reoffer('socket');
    },
    setMuted(m) {
      muted = !!m;
      if (mic) for (const t of mic.getAudioTracks()) t.enabled = !muted;
      return muted;
    },
    get muted() {
      return muted;
    },
    get state() {
      return state;
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearGrace();
      if (pc) pc.close();
      pc = null;
      if (mic) for (const t of mic.getTracks()) t.stop();
      mic = null;
      setState('closed');
    },
  };
}
