package demo

import "github.com/atende/atende"

// topic says which kind of queue a script belongs to.
type topic string

const (
	topicTech      topic = "technical"
	topicBilling   topic = "billing"
	topicSales     topic = "sales"
	topicRetention topic = "retention"
	topicGeneral   topic = "general"
)

// line is one message of a script: from the customer (in) or the agent.
type line struct {
	in   bool
	text string
}

func cust(s string) line  { return line{in: true, text: s} }
func agent(s string) line { return line{text: s} }

// script is a conversation as it happens in a contact center, written in the
// customer's language. {first}, {agent} and {customer_id} are filled in.
type script struct {
	topic       topic
	subject     string
	channels    []atende.Channel // the channels it reads naturally on; nil: any
	lines       []line
	note        string // internal note the agent leaves, sometimes
	disposition string // wrap-up code when the conversation ends
	dispNote    string // required by some dispositions
	tags        []string
	weight      int // how often it happens relative to the others
}

var (
	voiceOnly   = []atende.Channel{atende.ChannelVoice}
	notSMS      = []atende.Channel{atende.ChannelVoice, atende.ChannelChat, atende.ChannelEmail, atende.ChannelSocial}
	liveOnly    = []atende.Channel{atende.ChannelVoice, atende.ChannelChat, atende.ChannelSocial}
	writtenOnly = []atende.Channel{atende.ChannelChat, atende.ChannelEmail, atende.ChannelSMS, atende.ChannelSocial}
)

// phrases holds the few sentences every script of a language shares.
type phrases struct {
	nudge    string // a waiting customer writes again
	followUp string // confirmation sent on another channel, with {protocol}
	signOff  string // email signature line under the agent's name
}

var langPhrases = map[string]phrases{
	"es": {
		nudge:    "¿Hay alguien ahí? Llevo un rato esperando.",
		followUp: "Hola, {first}: le confirmamos la gestión de hoy. Su número de protocolo es {protocol}. Gracias por confiar en Atende Demo.",
		signOff:  "Atención al cliente · Atende Demo",
	},
	"pt-BR": {
		nudge:    "Alguém aí? Estou esperando faz um tempinho.",
		followUp: "Olá, {first}! Confirmamos o atendimento de hoje. Seu número de protocolo é {protocol}. Obrigado por escolher a Atende Demo.",
		signOff:  "Atendimento ao cliente · Atende Demo",
	},
	"en": {
		nudge:    "Hello? Is anyone there? I've been waiting a while.",
		followUp: "Hi {first}, this confirms today's request. Your reference number is {protocol}. Thanks for choosing Atende Demo.",
		signOff:  "Customer Care · Atende Demo",
	},
}

var scripts = map[string][]script{
	"es": {
		{
			topic: topicTech, subject: "Sin conexión a internet desde esta mañana", weight: 5,
			lines: []line{
				cust("Hola, no tengo internet desde esta mañana. El router tiene la luz LOS en rojo."),
				agent("Hola, {first}. Soy {agent}. Siento las molestias. ¿Me confirma su número de cliente?"),
				cust("Sí, es el {customer_id}."),
				agent("Gracias. Veo una avería en su zona que afecta a la fibra desde las 7:40. Los técnicos ya están trabajando en ella."),
				cust("¿Y cuánto va a tardar? Teletrabajo desde casa."),
				agent("La previsión es restablecer el servicio antes de las 14:00. Le aplicaremos un descuento proporcional en la próxima factura."),
				cust("Vale, ya me funciona. ¡Gracias!"),
				agent("¡Perfecto! Me alegro. Si necesita algo más, aquí estamos. Que tenga buen día."),
			},
			note:        "Avería masiva INC-4471 en la zona. Descuento proporcional aplicado.",
			disposition: "resolved", tags: []string{"averia", "fibra"},
		},
		{
			topic: topicTech, subject: "El wifi va muy lento en algunas habitaciones", weight: 3, channels: writtenOnly,
			lines: []line{
				cust("Buenas tardes. El wifi va lentísimo en el salón y en los dormitorios; al lado del router va bien."),
				agent("Buenas tardes, {first}. Le atiende {agent}. ¿Cuántos dispositivos tiene conectados más o menos?"),
				cust("Unos diez entre móviles, portátiles y la tele."),
				agent("He reiniciado el router en remoto y he cambiado el canal wifi a uno menos saturado. ¿Puede probar ahora?"),
				cust("Ha mejorado algo, pero en el dormitorio del fondo sigue sin llegar."),
				agent("Entonces le recomiendo un sistema mesh. Paso su caso al equipo técnico de segundo nivel para que valoren una visita."),
			},
			note:        "Canal wifi cambiado de 1 a 11. Valorar visita técnica y equipo mesh.",
			disposition: "escalated", dispNote: "Cobertura wifi insuficiente en vivienda grande; requiere visita técnica.",
			tags: []string{"wifi"},
		},
		{
			topic: topicBilling, subject: "Cobro duplicado en la factura de este mes", weight: 4,
			lines: []line{
				cust("Hola, me habéis cobrado dos veces la factura de este mes."),
				agent("Hola, {first}. Soy {agent}, del departamento de facturación. Lo reviso ahora mismo."),
				agent("Efectivamente, veo dos cargos de 45,90 € en su cuenta. Ha sido un error en la remesa bancaria."),
				cust("¿Y cuándo me devolvéis el dinero?"),
				agent("Ya he solicitado el reembolso del cargo duplicado. Lo verá en su cuenta en 3 a 5 días hábiles."),
				cust("Perfecto, muchas gracias."),
			},
			note:        "Reembolso de 45,90 € solicitado por remesa duplicada.",
			disposition: "resolved", tags: []string{"factura"},
		},
		{
			topic: topicBilling, subject: "Reclamación por subida de cuota sin aviso", weight: 2, channels: notSMS,
			lines: []line{
				cust("Quiero poner una reclamación. Me han subido la cuota 5 euros sin avisarme."),
				agent("Buenos días, {first}. Le atiende {agent}. Lamento la situación; déjeme revisar su contrato."),
				agent("La actualización de tarifas se comunicó por email el mes pasado, pero entiendo que no le llegara. Registro su reclamación formal."),
				cust("Quiero que me lo devolváis, yo no acepté ninguna subida."),
				agent("Su reclamación queda registrada y el departamento de calidad le responderá en un máximo de 10 días. Guarde su número de protocolo."),
			},
			disposition: "complaint_registered", dispNote: "Cliente disconforme con la subida de 5 €/mes; solicita la devolución.",
			tags: []string{"reclamacion", "factura"},
		},
		{
			topic: topicRetention, subject: "Solicitud de baja del servicio", weight: 3, channels: liveOnly,
			lines: []line{
				cust("Hola, quiero darme de baja. Otra compañía me ofrece fibra más barata."),
				agent("Hola, {first}. Soy {agent}. Siento que quiera irse. ¿Me permite revisar su contrato para ver qué podemos ofrecerle?"),
				cust("Vale, pero os aviso de que me ofrecen 1 Gb por 30 euros."),
				agent("Como cliente con antigüedad, puedo subirle a fibra 1 Gb y dejarle la cuota en 29,90 € durante 12 meses, sin permanencia adicional."),
				cust("Bueno, así sí me quedo."),
				agent("¡Estupendo! Le aplico el cambio hoy mismo y recibirá la confirmación por email."),
			},
			note:        "Oferta de retención: fibra 1 Gb a 29,90 € durante 12 meses.",
			disposition: "cancellation_retained", tags: []string{"baja", "retencion"},
		},
		{
			topic: topicRetention, subject: "Baja por traslado al extranjero", weight: 1, channels: liveOnly,
			lines: []line{
				cust("Buenas, me voy a vivir fuera de España y necesito dar de baja la línea."),
				agent("Buenas, {first}. Le atiende {agent}. ¿A partir de qué fecha quiere la baja?"),
				cust("A final de mes, por favor."),
				agent("De acuerdo. La baja será efectiva el último día del mes. Le enviaremos una caja para devolver el router."),
				cust("Gracias por todo."),
				agent("A usted. Le deseamos mucha suerte en su nueva etapa."),
			},
			disposition: "cancellation_processed", tags: []string{"baja"},
		},
		{
			topic: topicSales, subject: "Información sobre fibra 1 Gb con línea móvil", weight: 3, channels: notSMS,
			lines: []line{
				cust("Hola, ¿qué precio tiene pasar a la fibra de 1 Gb con una línea móvil ilimitada?"),
				agent("¡Hola, {first}! Soy {agent}. Ahora mismo tenemos fibra 1 Gb + móvil ilimitado por 49,90 €/mes."),
				cust("¿Tiene permanencia?"),
				agent("Sin permanencia, y la instalación es gratuita. ¿Quiere que lo contratemos ahora?"),
				cust("Sí, adelante."),
				agent("Hecho. Le llegará un SMS con la cita para el técnico. ¡Gracias por confiar en nosotros!"),
			},
			disposition: "sale", tags: []string{"venta", "fibra"},
		},
		{
			topic: topicSales, subject: "Portabilidad de dos líneas móviles", weight: 2, channels: liveOnly,
			lines: []line{
				cust("Quiero traerme dos líneas móviles de otra compañía, pero antes tengo que consultarlo en casa."),
				agent("Claro, {first}. Soy {agent}. Con dos líneas ilimitadas le quedaría en 35 € al mes en total."),
				cust("¿Me podéis llamar mañana por la tarde y lo cerramos?"),
				agent("Por supuesto. Le dejo programada una llamada para mañana a las 17:00."),
			},
			disposition: "callback_scheduled", tags: []string{"portabilidad", "movil"},
		},
		{
			topic: topicGeneral, subject: "Llamada equivocada", weight: 1, channels: voiceOnly,
			lines: []line{
				cust("¿Hola? ¿Es la farmacia del barrio?"),
				agent("Buenos días, ha llamado a Atende Demo, atención al cliente de fibra y móvil."),
				cust("Uy, perdone, me he equivocado de número."),
				agent("No se preocupe. ¡Que tenga un buen día!"),
			},
			disposition: "wrong_number",
		},
	},
	"pt-BR": {
		{
			topic: topicTech, subject: "Internet caiu desde ontem à noite", weight: 5,
			lines: []line{
				cust("Oi, minha internet caiu ontem à noite e não voltou mais."),
				agent("Olá, {first}! Aqui é {agent}. Sinto muito pelo transtorno. Pode me passar o seu código de cliente?"),
				cust("É {customer_id}."),
				agent("Obrigado. Fiz um teste remoto e o sinal da fibra está chegando fraco no seu modem. Vou reiniciar a porta na central."),
				cust("Voltou aqui! Valeu."),
				agent("Que ótimo! Qualquer coisa é só chamar. Tenha um ótimo dia!"),
			},
			note:        "Porta da OLT reiniciada; sinal normalizado em -19 dBm.",
			disposition: "resolved", tags: []string{"sem-sinal", "fibra"},
		},
		{
			topic: topicTech, subject: "Internet lenta no horário da noite", weight: 2, channels: writtenOnly,
			lines: []line{
				cust("Toda noite a internet fica muito lenta, não consigo nem assistir série."),
				agent("Olá, {first}, aqui é {agent}. Vou fazer um diagnóstico. Você está no wi-fi ou no cabo?"),
				cust("No wi-fi, mas no cabo também fica lento."),
				agent("Identifiquei saturação na sua região no horário de pico. Abri um chamado para a equipe de rede e vou acompanhar o caso."),
			},
			note:        "Saturação da OLT no horário de pico. Chamado aberto para a equipe de rede.",
			disposition: "escalated", dispNote: "Lentidão no horário de pico por saturação da rede; encaminhado para a engenharia.",
			tags: []string{"lentidao"},
		},
		{
			topic: topicBilling, subject: "Segunda via da fatura", weight: 4, channels: writtenOnly,
			lines: []line{
				cust("Boa tarde, preciso da segunda via do boleto deste mês."),
				agent("Boa tarde, {first}! Sou {agent}. Vou gerar a segunda via agora."),
				agent("Pronto! Enviei o boleto para o seu e-mail cadastrado. Você também pode pagar com Pix pelo código que está na fatura."),
				cust("Recebi, obrigada!"),
			},
			disposition: "resolved", tags: []string{"fatura"},
		},
		{
			topic: topicBilling, subject: "Cobrança indevida de pacote adicional", weight: 2, channels: notSMS,
			lines: []line{
				cust("Estão me cobrando um pacote de canais que eu nunca contratei. Quero registrar uma reclamação."),
				agent("Olá, {first}. Aqui é {agent}. Peço desculpas. Vou verificar o seu contrato."),
				agent("Encontrei o pacote adicional ativado há dois meses. Já cancelei e registrei a sua reclamação para o estorno dos valores."),
				cust("E quanto tempo demora o estorno?"),
				agent("O estorno aparece em até duas faturas. Anote o seu número de protocolo para acompanhar."),
			},
			disposition: "complaint_registered", dispNote: "Pacote de canais ativado sem consentimento; estorno de dois meses solicitado.",
			tags: []string{"reclamacao", "fatura"},
		},
		{
			topic: topicRetention, subject: "Pedido de cancelamento", weight: 3, channels: liveOnly,
			lines: []line{
				cust("Quero cancelar o meu plano, está muito caro."),
				agent("Oi, {first}, aqui é {agent}. Entendo. Posso ver se temos uma condição melhor para você?"),
				cust("Pode ser."),
				agent("Consigo reduzir a sua mensalidade para R$ 99,90 mantendo os 600 mega, por 12 meses."),
				cust("Assim eu fico. Pode aplicar."),
				agent("Feito! O novo valor já vale a partir da próxima fatura. Obrigado por continuar com a gente!"),
			},
			note:        "Retenção: 600 mega por R$ 99,90 durante 12 meses.",
			disposition: "cancellation_retained", tags: []string{"cancelamento", "retencao"},
		},
		{
			topic: topicRetention, subject: "Cancelamento por mudança de cidade", weight: 1, channels: liveOnly,
			lines: []line{
				cust("Vou me mudar para uma cidade onde vocês não atendem. Como faço para cancelar?"),
				agent("Olá, {first}! Sou {agent}. Posso fazer o cancelamento agora mesmo, sem multa, por mudança para área sem cobertura."),
				cust("Ótimo, pode cancelar."),
				agent("Cancelamento efetuado. Um técnico vai agendar a retirada do equipamento. Foi um prazer atender você!"),
			},
			disposition: "cancellation_processed", tags: []string{"cancelamento"},
		},
		{
			topic: topicSales, subject: "Upgrade para fibra de 1 giga", weight: 3, channels: notSMS,
			lines: []line{
				cust("Oi! Vi a propaganda da fibra de 1 giga. Quanto fica para quem já é cliente?"),
				agent("Oi, {first}! Aqui é {agent}. Para clientes, o plano de 1 giga sai por R$ 129,90 por mês."),
				cust("E tem fidelidade?"),
				agent("Fidelidade de 12 meses, e a troca do modem é grátis. Quer fazer o upgrade?"),
				cust("Quero sim!"),
				agent("Upgrade feito! Você vai receber um SMS com a data da visita técnica."),
			},
			disposition: "sale", tags: []string{"venda", "upgrade"},
		},
		{
			topic: topicGeneral, subject: "Ligação por engano", weight: 1, channels: voiceOnly,
			lines: []line{
				cust("Alô? É da pizzaria?"),
				agent("Olá! Você ligou para a Atende Demo, atendimento de internet e telefonia."),
				cust("Ih, foi engano, desculpa."),
				agent("Sem problemas! Tenha um bom dia."),
			},
			disposition: "wrong_number",
		},
	},
	"en": {
		{
			topic: topicTech, subject: "Internet down since this morning", weight: 5,
			lines: []line{
				cust("Hi, my internet has been down since this morning. All the lights on the router are blinking orange."),
				agent("Hi {first}, this is {agent}. Sorry about that! Could you confirm your account number?"),
				cust("Sure, it's {customer_id}."),
				agent("Thanks. I can see a fiber cut in your area; our crew is on site and expects to have it fixed within two hours."),
				cust("OK, thanks for letting me know."),
				agent("You're welcome. We'll credit your account for the downtime. Anything else I can help with?"),
				cust("No, that's all."),
			},
			note:        "Area outage OUT-2291 (fiber cut). One-day credit applied.",
			disposition: "resolved", tags: []string{"outage"},
		},
		{
			topic: topicTech, subject: "Wi-Fi keeps dropping", weight: 2, channels: writtenOnly,
			lines: []line{
				cust("My Wi-Fi keeps dropping every few minutes. I've already restarted the router twice."),
				agent("Hi {first}, this is {agent}. I'm running a remote diagnostic now."),
				agent("I see a lot of signal errors on your line. I'm escalating this to our tier 2 team, and they may schedule a technician visit."),
				cust("OK, please keep me posted."),
			},
			disposition: "escalated", dispNote: "High CRC error count on the line; tier 2 to check the drop and schedule a visit.",
			tags: []string{"wifi"},
		},
		{
			topic: topicBilling, subject: "Question about a late fee", weight: 4,
			lines: []line{
				cust("Why was I charged a $10 late fee? I paid on time."),
				agent("Hi {first}, {agent} here. Let me take a look at your account."),
				agent("You're right: your payment arrived on the due date but was posted a day late. I've removed the late fee."),
				cust("Great, thank you!"),
			},
			disposition: "resolved", tags: []string{"billing"},
		},
		{
			topic: topicBilling, subject: "Complaint about a double autopay charge", weight: 2, channels: notSMS,
			lines: []line{
				cust("Autopay charged my card twice and now my account is overdrawn. This is unacceptable."),
				agent("I'm really sorry, {first}. This is {agent}. I can see the double charge and I'm refunding it right now."),
				cust("I also got an overdraft fee from my bank because of this."),
				agent("Understood. I've registered a formal complaint so we can reimburse the bank fee too. You'll hear back within 5 business days."),
			},
			disposition: "complaint_registered", dispNote: "Duplicate autopay charge refunded; customer asks us to reimburse a $35 overdraft fee.",
			tags: []string{"billing", "complaint"},
		},
		{
			topic: topicSales, subject: "Upgrading to Fiber 1 Gig", weight: 3, channels: notSMS,
			lines: []line{
				cust("Hi, I'm working from home more and I'd like faster internet. What are my options?"),
				agent("Hi {first}! I'm {agent}. Our Fiber 1 Gig plan is $65/month with no annual contract."),
				cust("Does that include the router?"),
				agent("Yes, a Wi-Fi 6 router is included at no extra cost. Want me to upgrade you today?"),
				cust("Let's do it."),
				agent("Done! Your new speed will be active within the hour. Enjoy!"),
			},
			disposition: "sale", tags: []string{"sales", "upgrade"},
		},
		{
			topic: topicSales, subject: "Family mobile plan quote", weight: 2, channels: liveOnly,
			lines: []line{
				cust("I'm interested in adding three mobile lines for my family. Can someone call me back this evening?"),
				agent("Absolutely, {first}. I'm {agent}. I've scheduled a call for 6 PM today with a quote for three unlimited lines."),
				cust("Perfect, talk then."),
			},
			disposition: "callback_scheduled", tags: []string{"sales", "mobile"},
		},
		{
			topic: topicRetention, subject: "Considering cancellation", weight: 2, channels: liveOnly,
			lines: []line{
				cust("I'm thinking about cancelling. Another provider is offering the same speed for less."),
				agent("I understand, {first}. This is {agent}. Let me see what I can do."),
				agent("I can lower your bill by $15/month for the next 12 months and keep your current speed."),
				cust("OK, that works. I'll stay."),
				agent("Great! The discount will show up on your next bill. Thanks for staying with us!"),
			},
			disposition: "cancellation_retained", tags: []string{"retention"},
		},
		{
			topic: topicRetention, subject: "Cancel service", weight: 1, channels: liveOnly,
			lines: []line{
				cust("I need to cancel my service. I'm moving in with my partner, who already has internet."),
				agent("Sorry to see you go, {first}. I'm {agent}. Could I offer you a discounted mobile-only plan instead?"),
				cust("No thanks, just cancel please."),
				agent("No problem. Your service will end with this billing cycle, and I'll email you a prepaid label for the equipment."),
			},
			disposition: "cancellation_processed", tags: []string{"cancellation"},
		},
		{
			topic: topicGeneral, subject: "Wrong number", weight: 1, channels: voiceOnly,
			lines: []line{
				cust("Hello, is this Dr. Patel's office?"),
				agent("Hi, you've reached Atende Demo customer care for internet and mobile."),
				cust("Oh, sorry, wrong number."),
				agent("No worries, have a great day!"),
			},
			disposition: "wrong_number",
		},
	},
}

// person is a customer's name split the way agents address them.
type person struct{ first, last string }

// customers by market. A few US customers prefer Spanish.
var (
	spainCustomers = []person{
		{"María", "García López"}, {"Antonio", "Martínez Ruiz"}, {"Carmen", "Rodríguez Pérez"},
		{"José Luis", "Fernández Gómez"}, {"Laura", "Sánchez Díaz"}, {"Francisco", "Jiménez Moreno"},
		{"Ana Belén", "Muñoz Álvarez"}, {"David", "Romero Navarro"}, {"Isabel", "Torres Domínguez"},
		{"Manuel", "Vázquez Ramos"}, {"Cristina", "Gil Serrano"}, {"Alejandro", "Blanco Molina"},
		{"Raquel", "Castro Ortiz"}, {"Sergio", "Delgado Rubio"}, {"Paula", "Marín Sanz"},
		{"Jorge", "Iglesias Medina"}, {"Silvia", "Cortés Garrido"}, {"Álvaro", "Núñez Santos"},
		{"Beatriz", "Herrera Calvo"}, {"Rubén", "Prieto León"}, {"Pilar", "Méndez Vidal"},
		{"Iván", "Guerrero Fuentes"}, {"Rocío", "Cabrera Campos"}, {"Miguel Ángel", "Lozano Peña"},
	}
	brazilCustomers = []person{
		{"Ana Paula", "Silva"}, {"João Pedro", "Santos"}, {"Mariana", "Oliveira"},
		{"Lucas", "Souza"}, {"Fernanda", "Rodrigues"}, {"Gabriel", "Ferreira"},
		{"Beatriz", "Alves"}, {"Matheus", "Lima"}, {"Larissa", "Gomes"},
		{"Bruno", "Carvalho"}, {"Aline", "Ribeiro"}, {"Felipe", "Martins"},
		{"Patrícia", "Rocha"}, {"Gustavo", "Araújo"}, {"Vanessa", "Barbosa"},
		{"Diego", "Cardoso"}, {"Letícia", "Nascimento"}, {"Rodrigo", "Mendes"},
	}
	usCustomers = []person{
		{"Jennifer", "Miller"}, {"Robert", "Davis"}, {"Emily", "Wilson"},
		{"Christopher", "Moore"}, {"Jessica", "Taylor"}, {"Matthew", "Anderson"},
		{"Sarah", "Thomas"}, {"Joshua", "Jackson"}, {"Amanda", "White"},
		{"Andrew", "Harris"}, {"Megan", "Martin"}, {"Brandon", "Thompson"},
		{"Lauren", "Garcia"}, {"Justin", "Martinez"}, {"Nicole", "Robinson"},
		{"Ryan", "Clark"}, {"Stephanie", "Lewis"},
	}
	usSpanishCustomers = []person{{"Luis", "Hernández"}, {"Gabriela", "Morales"}}
)
