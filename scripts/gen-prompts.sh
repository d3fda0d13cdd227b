#!/usr/bin/env bash
# Generates the default voice prompts (es, pt-BR, en) with espeak-ng into
# internal/channel/voice/prompts/audio/<lang>/<id>.wav as 8 kHz mono 16-bit
# PCM WAV, with leading and trailing silence trimmed. The WAVs are committed
# and embedded in the binary, so this only needs to run when a text changes.
# Installs espeak-ng and sox from Debian when they are missing.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/internal/channel/voice/prompts/audio"

need=()
command -v espeak-ng >/dev/null || need+=(espeak-ng)
command -v sox >/dev/null || need+=(sox)
if [ ${#need[@]} -gt 0 ]; then
	echo "installing ${need[*]}" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# voice: the espeak-ng voice for each catalogue language.
voice() {
	case "$1" in
	es) echo es ;;
	pt-BR) echo pt-br ;;
	en) echo en-us ;;
	esac
}

# say LANG ID TEXT
say() {
	local lang=$1 id=$2 text=$3
	mkdir -p "$out/$lang"
	espeak-ng -v "$(voice "$lang")" -s 180 -w "$tmp/raw.wav" "$text"
	# Normalise the peak to -3 dBFS, trim silence at both ends, then convert
	# to 8 kHz mono 16-bit PCM.
	sox "$tmp/raw.wav" -r 8000 -c 1 -b 16 -e signed-integer "$out/$lang/$id.wav" \
		gain -n -3 silence 1 0.01 0.5% reverse silence 1 0.01 0.5% reverse rate 8000
}

rm -rf "$out"

while IFS='|' read -r id es pt en; do
	[ -z "$id" ] && continue
	say es "$id" "$es"
	say pt-BR "$id" "$pt"
	say en "$id" "$en"
done <<'EOF'
welcome|Bienvenido. Gracias por llamar.|Bem-vindo. Obrigado por ligar.|Welcome. Thank you for calling.
menu|Por favor, elija una opción.|Por favor, escolha uma opção.|Please choose an option.
menu_complaint|Para reclamaciones, pulse 1.|Para reclamações, tecle 1.|For complaints, press 1.
menu_cancellation|Para cancelar un servicio, pulse 2.|Para cancelamento, tecle 2.|To cancel a service, press 2.
menu_agent|Para hablar con una persona, pulse 0.|Para falar com um atendente, tecle 0.|To talk to a person, press 0.
invalid|Lo sentimos, esa opción no es válida.|Desculpe, opção inválida.|Sorry, that is not a valid option.
no_input|No hemos recibido su selección.|Não recebemos sua seleção.|We did not receive your selection.
please_wait|Por favor, espere. Enseguida le atenderemos.|Por favor, aguarde. Em breve você será atendido.|Please hold. An agent will be with you shortly.
queue_position|Su posición en la cola es|Sua posição na fila é|Your position in the queue is
estimated_wait|El tiempo de espera estimado es de unos|O tempo de espera estimado é de cerca de|The estimated wait is about
minutes|minutos|minutos|minutes
wait_one_minute|El tiempo de espera estimado es de un minuto.|O tempo de espera estimado é de um minuto.|The estimated wait is about one minute.
wait_less_than_minute|El tiempo de espera es de menos de un minuto.|O tempo de espera é de menos de um minuto.|The wait is less than a minute.
callback_offer|Para que le llamemos sin perder su turno, pulse 1.|Para receber uma ligação sem perder sua vez, tecle 1.|To be called back without losing your place, press 1.
callback_confirm|Gracias. Le devolveremos la llamada.|Obrigado. Retornaremos sua ligação.|Thank you. We will call you back.
voicemail|Deje su mensaje después de la señal.|Deixe sua mensagem após o sinal.|Please leave your message after the tone.
voicemail_saved|Su mensaje ha sido guardado.|Sua mensagem foi gravada.|Your message has been saved.
goodbye|Gracias por su llamada. Adiós.|Obrigado pela ligação. Até logo.|Thank you for calling. Goodbye.
out_of_hours|En este momento estamos cerrados.|No momento estamos fechados.|We are closed right now.
holiday|Hoy estamos cerrados por festivo.|Hoje estamos fechados por feriado.|We are closed today for a holiday.
enter_account|Marque su número de cuenta y pulse almohadilla.|Digite o número da sua conta e tecle jogo da velha.|Enter your account number, then press hash.
enter_document|Marque su número de documento y pulse almohadilla.|Digite o número do seu documento e tecle jogo da velha.|Enter your document number, then press hash.
transferring|Transfiriendo su llamada.|Transferindo sua ligação.|Transferring your call.
technical_problem|Lo sentimos, tenemos un problema técnico.|Desculpe, estamos com um problema técnico.|Sorry, we have a technical problem.
EOF

# Numbers for positions and minutes: each language's words up to the tens,
# which the prompts package composes into 0-99 ("and" joins tens and units
# where the language does).
n=0
for w in cero uno dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce quince dieciséis diecisiete dieciocho diecinueve veinte veintiuno veintidós veintitrés veinticuatro veinticinco veintiséis veintisiete veintiocho veintinueve; do
	say es "n_$n" "$w"
	n=$((n + 1))
done
n=0
for w in zero um dois três quatro cinco seis sete oito nove dez onze doze treze catorze quinze dezesseis dezessete dezoito dezenove vinte; do
	say pt-BR "n_$n" "$w"
	n=$((n + 1))
done
n=0
for w in zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty; do
	say en "n_$n" "$w"
	n=$((n + 1))
done
tens=(30 40 50 60 70 80 90)
es_t=(treinta cuarenta cincuenta sesenta setenta ochenta noventa)
pt_t=(trinta quarenta cinquenta sessenta setenta oitenta noventa)
en_t=(thirty forty fifty sixty seventy eighty ninety)
for i in "${!tens[@]}"; do
	say es "n_${tens[$i]}" "${es_t[$i]}"
	say pt-BR "n_${tens[$i]}" "${pt_t[$i]}"
	say en "n_${tens[$i]}" "${en_t[$i]}"
done
say es n_and "y"
say pt-BR n_and "e"

du -sh "$out"
