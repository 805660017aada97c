#!/bin/sh
# Generates the caller prompts the appliance ships, one file per prompt and
# language, as 8 kHz µ-law (.ulaw, what Asterisk plays to a PCMU call without
# transcoding), into sounds/<lang>/llamenos/. Needs espeak-ng and sox
# (apt-get install espeak-ng sox). The output is deterministic: running it
# again on the same Debian packages gives the same bytes, so
# `git status` shows a change only when a text below changed.
#
# Each line of a language's table is "name|text". The names are the ones
# hotline.Prompts uses (llamenos/<name>) and the sounds package lists.
set -eu
cd "$(dirname "$0")/.."
out=sounds
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

gen() { # gen LANG VOICE <<table
	lang=$1 voice=$2
	mkdir -p "$out/$lang/llamenos"
	while IFS='|' read -r name text; do
		[ -n "$name" ] || continue
		espeak-ng -v "$voice" -s 150 -a 150 -w "$tmp/$name.wav" "$text"
		# Trim the synthesiser's leading and trailing silence, normalise to
		# -3 dBFS, resample to 8 kHz without dither (dither is random noise:
		# the bytes would differ on every run), and pad 100 ms at each end.
		sox -D "$tmp/$name.wav" -t ul -r 8000 -c 1 "$out/$lang/llamenos/$name.ulaw" \
			silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse \
			gain -n -3 pad 0.1 0.1
	done
}

gen en en-us <<'TABLE'
greeting|Thank you for calling. Please stay on the line while we connect you with someone who can listen.
language-menu|For English, press
captcha-intro|To continue, please enter the following digits on your phone's keypad.
captcha-retry|Those digits were not right. Please try again.
captcha-fail|Sorry, we could not check your call. Goodbye.
busy|Sorry, we cannot take your call right now. Please call again in a few minutes.
unavailable|Sorry, nobody is available to take your call right now. Please call again later.
error|Sorry, something went wrong. Please try your call again later.
voicemail|Nobody is available right now. Please leave a message after the tone, and hang up when you are done.
transcribed|This call is transcribed so that our volunteers can keep notes.
TABLE

gen es es <<'TABLE'
greeting|Gracias por llamar. Por favor, no cuelgue mientras le comunicamos con alguien que pueda escucharle.
language-menu|Para español, marque
captcha-intro|Para continuar, marque los siguientes dígitos en el teclado de su teléfono.
captcha-retry|Esos dígitos no son correctos. Por favor, inténtelo de nuevo.
captcha-fail|Lo sentimos, no pudimos verificar su llamada. Adiós.
busy|Lo sentimos, no podemos atender su llamada ahora. Por favor, vuelva a llamar en unos minutos.
unavailable|Lo sentimos, no hay nadie disponible para atender su llamada ahora. Por favor, vuelva a llamar más tarde.
error|Lo sentimos, algo ha fallado. Por favor, vuelva a llamar más tarde.
voicemail|No hay nadie disponible ahora. Por favor, deje un mensaje después del tono y cuelgue cuando termine.
transcribed|Esta llamada se transcribe para que nuestros voluntarios puedan tomar notas.
TABLE
