package api

// routeTable lists every API route with who may call it. The role-matrix
// test walks this table, so a route added here without an expectation there
// fails the build's tests.
func (s *Server) routeTable() []route {
	rts := []route{
		{method: "GET", pattern: "/api/health", access: public, h: s.health},
		{method: "GET", pattern: "/api/config", access: public, h: s.config},
		{method: "POST", pattern: "/api/auth/challenge", access: public, rl: s.chalRL, h: s.challenge},
		{method: "POST", pattern: "/api/setup", access: public, rl: s.authRL, h: s.setup},
		{method: "GET", pattern: "/api/invites/{code}", access: public, rl: s.authRL, h: s.inviteInfo},
		{method: "POST", pattern: "/api/invites/{code}/accept", access: public, rl: s.authRL, h: s.acceptInvite},
		{method: "POST", pattern: "/api/auth/login", access: public, rl: s.authRL, h: s.login},
		{method: "POST", pattern: "/api/auth/login/passkey", access: public, rl: s.authRL, h: s.loginPasskey},
		{method: "POST", pattern: "/api/auth/logout", access: public, h: s.logout},
		{method: "POST", pattern: "/api/links", access: public, rl: s.authRL, h: s.createLink},
		{method: "POST", pattern: "/api/links/{id}/status", access: public, h: s.linkStatus},
		{method: "POST", pattern: "/api/links/{id}/reveal", access: public, h: s.revealLink},
		{method: "POST", pattern: "/api/links/{id}/cancel", access: public, h: s.cancelLinkByToken},
		{method: "POST", pattern: "/api/links/{id}/claim", access: signedIn, h: s.claimLink},
		{method: "POST", pattern: "/api/links/{id}/answer", access: signedIn, h: s.answerLink},
		{method: "GET", pattern: "/api/links/{id}", access: signedIn, h: s.peekLink},
		{method: "POST", pattern: "/api/links/{id}/seal", access: signedIn, h: s.sealLink},
		{method: "DELETE", pattern: "/api/links/{id}", access: signedIn, h: s.cancelLink},

		{method: "GET", pattern: "/api/me", access: signedIn, enrol: true, h: s.me},
		{method: "PUT", pattern: "/api/me/profile", access: signedIn, h: s.putProfile},
		{method: "PUT", pattern: "/api/me/availability", access: signedIn, h: s.putAvailability},
		{method: "POST", pattern: "/api/auth/passkeys/options", access: signedIn, enrol: true, h: s.passkeyOptions},
		{method: "POST", pattern: "/api/auth/passkeys", access: signedIn, enrol: true, h: s.addPasskey},
		{method: "GET", pattern: "/api/auth/passkeys", access: signedIn, enrol: true, h: s.listPasskeys},
		{method: "DELETE", pattern: "/api/auth/passkeys/{id}", access: signedIn, h: s.deletePasskey},
		{method: "GET", pattern: "/api/fields", access: signedIn, h: s.listFields},
		{method: "GET", pattern: "/api/rtc", access: signedIn, h: s.rtcConfig},

		{method: "GET", pattern: "/api/volunteers", access: adminOnly, h: s.listVolunteers},
		{method: "PATCH", pattern: "/api/volunteers/{pubkey}", access: adminOnly, h: s.patchVolunteer},
		{method: "DELETE", pattern: "/api/volunteers/{pubkey}", access: adminOnly, h: s.deleteVolunteer},
		{method: "POST", pattern: "/api/invites", access: adminOnly, h: s.createInvite},
		{method: "GET", pattern: "/api/invites", access: adminOnly, h: s.listInvites},
		{method: "DELETE", pattern: "/api/invites/{id}", access: adminOnly, h: s.revokeInvite},
		{method: "GET", pattern: "/api/settings", access: adminOnly, h: s.getSettings},
		{method: "PUT", pattern: "/api/settings", access: adminOnly, h: s.putSettings},
		{method: "GET", pattern: "/api/shifts", access: adminOnly, h: s.getShifts},
		{method: "PUT", pattern: "/api/shifts", access: adminOnly, h: s.putShifts},
		{method: "PUT", pattern: "/api/fields", access: adminOnly, h: s.putFields},
		{method: "GET", pattern: "/api/bans", access: adminOnly, h: s.listBans},
		{method: "POST", pattern: "/api/bans", access: adminOnly, h: s.addBan},
		{method: "DELETE", pattern: "/api/bans/{id}", access: adminOnly, h: s.deleteBan},
		{method: "GET", pattern: "/api/audit", access: adminOnly, h: s.audit},
		{method: "GET", pattern: "/api/audit/verify", access: adminOnly, h: s.verifyAudit},
		{method: "GET", pattern: "/api/dashboard", access: adminOnly, h: s.dashboard},
		{method: "GET", pattern: "/api/prompts", access: adminOnly, h: s.listPrompts},
		{method: "GET", pattern: "/api/prompts/{lang}/{name}", access: adminOnly, h: s.promptAudio},
		{method: "PUT", pattern: "/api/prompts/{lang}/{name}", access: adminOnly, limit: promptBodyLimit, h: s.putPrompt},
		{method: "DELETE", pattern: "/api/prompts/{lang}/{name}", access: adminOnly, h: s.revertPrompt},
		{method: "POST", pattern: "/api/admin-set", access: adminOnly, h: s.postAdminSet},
		{method: "GET", pattern: "/api/reseal", access: adminOnly, h: s.listReseal},
		{method: "POST", pattern: "/api/reseal", access: adminOnly, limit: resealBodyLimit, h: s.postReseal},
		{method: "GET", pattern: "/api/voicemails", access: adminOnly, h: s.listVoicemails},
		{method: "GET", pattern: "/api/voicemails/{id}", access: adminOnly, h: s.getVoicemail},
		{method: "PUT", pattern: "/api/voicemails/{id}/handled", access: adminOnly, h: s.putVoicemailHandled},

		{method: "GET", pattern: "/api/calls", access: signedIn, h: s.listCalls},
		{method: "GET", pattern: "/api/calls/{id}", access: signedIn, h: s.getCall},
		{method: "POST", pattern: "/api/calls/{id}/answer", access: signedIn, h: s.answer},
		{method: "POST", pattern: "/api/calls/{id}/decline", access: signedIn, h: s.decline},
		{method: "POST", pattern: "/api/calls/{id}/hangup", access: signedIn, h: s.hangup},
		{method: "POST", pattern: "/api/calls/{id}/ban", access: signedIn, h: s.banCaller},
		{method: "GET", pattern: "/api/calls/{id}/notes", access: signedIn, h: s.callNotes},
		{method: "POST", pattern: "/api/calls/{id}/notes", access: signedIn, limit: noteBodyLimit, h: s.createNote},
		{method: "GET", pattern: "/api/calls/{id}/transcripts", access: signedIn, h: s.callTranscripts},
		{method: "GET", pattern: "/api/notes", access: signedIn, h: s.listNotes},
		{method: "GET", pattern: "/api/notes/{id}", access: signedIn, h: s.getNote},
		{method: "PUT", pattern: "/api/notes/{id}", access: signedIn, limit: noteBodyLimit, h: s.editNote},
	}
	if s.Demo != nil {
		rts = append(rts, s.demoRoutes()...)
	}
	return rts
}
