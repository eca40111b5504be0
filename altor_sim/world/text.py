"""Ticket language: what customers write (symptoms, not causes); agents' and engineers' replies
are in `replies.py`.

The same symptom wording is shared by several causes on purpose; only the systems' data at the
ticket's time can tell them apart.
"""

from __future__ import annotations

import numpy as np

SYMPTOM_MIX = {  # cause -> symptom -> weight
    "platform_incident": {
        "errors": 0.42,
        "slow": 0.2,
        "down": 0.22,
        "ratelimit": 0.1,
        "account": 0.06,
    },
    "deploy_regression": {
        "errors": 0.55,
        "slow": 0.12,
        "down": 0.15,
        "account": 0.08,
        "ratelimit": 0.05,
        "howto": 0.05,
    },
    "known_bug": {
        "errors": 0.62,
        "account": 0.08,
        "howto": 0.14,
        "odd": 0.08,
        "down": 0.04,
        "slow": 0.04,
    },
    "plan_limit": {"ratelimit": 0.28, "errors": 0.34, "down": 0.2, "account": 0.12, "slow": 0.06},
    "customer_integration": {
        "errors": 0.45,
        "auth": 0.14,
        "account": 0.18,
        "down": 0.1,
        "howto": 0.13,
    },
    "billing_issue": {"billing": 0.36, "account": 0.4, "errors": 0.12, "down": 0.07, "howto": 0.05},
    "how_to": {"howto": 0.9, "account": 0.05, "errors": 0.05},
    "misrouted": {"misrouted": 0.85, "account": 0.1, "howto": 0.05},
    "novel": {"errors": 0.42, "slow": 0.16, "odd": 0.2, "account": 0.12, "down": 0.1},
}

SUBJECTS = {
    "errors": [
        "Requests failing",
        "API errors since this morning",
        "Errors on our integration",
        "Getting errors from your API",
        "failing calls",
        "Intermittent failures",
        "API returning errors",
        "Problem with API calls",
        "Our jobs are failing",
        "Seeing a lot of failed requests",
        "Error responses",
        "urgent: requests erroring",
        "Calls not going through",
    ],
    "slow": [
        "API very slow",
        "Slow responses",
        "Latency issues",
        "Timeouts from the API",
        "Requests taking forever",
        "performance degraded?",
        "Everything is slow today",
    ],
    "down": [
        "Is the API down?",
        "API down",
        "Outage?",
        "Nothing works",
        "URGENT - production down",
        "Service unavailable?",
        "Your service is broken",
    ],
    "ratelimit": [
        "Are you rate limiting us?",
        "Throttling?",
        "Being throttled",
        "Rate limits",
        "Requests rejected - limits?",
        "Did our limits change?",
    ],
    "auth": [
        "Authentication failing",
        "API key not working",
        "Unauthorized errors",
        "Can't authenticate",
        "Keys stopped working",
    ],
    "account": [
        "Something is wrong with our account",
        "Account problem",
        "Help with our account",
        "Account issue",
        "Need help",
        "Question about our account status",
        "Problem",
    ],
    "billing": [
        "Payment failed",
        "Invoice question",
        "Card declined",
        "Billing problem",
        "Why was our payment declined?",
        "Charge failed",
        "Past due notice",
    ],
    "howto": [
        "Question about {ep}",
        "How do I use {ep}?",
        "Pagination question",
        "Webhooks setup",
        "Best practice for retries",
        "How to filter results",
        "Sandbox vs production",
        "Docs unclear on {ep}",
        "Idempotency keys",
        "SDK question",
        "Question",
    ],
    "misrouted": [],
    "odd": [
        "Strange behaviour",
        "Weird responses",
        "Something odd with the API",
        "Unexpected data",
        "Not sure if this is a bug",
        "Inconsistent results",
    ],
}

OPENERS = {
    "errors": [
        "Since this morning a good part of our requests fail.",
        "We are seeing errors when calling your API, it started a little while ago.",
        "Our integration started failing. Nothing changed on our side as far as we know.",
        "Lots of our calls come back with errors right now.",
        "requests are failing since earlier today, can you check",
        "Our monitoring shows a spike of failed requests to your API.",
        "Some of our API calls fail, not all of them. It is affecting our customers.",
        "we get errors back on maybe a third of calls??",
        "Our nightly job and the live app both report failed calls against your API.",
    ],
    "slow": [
        "Your API has become really slow for us.",
        "Response times went way up in the last hour.",
        "it's slow. like really slow",
        "Our requests are timing out on our side because responses take seconds.",
        "We see latency far above normal on our calls.",
        "Performance is terrible right now, p95 is through the roof.",
    ],
    "down": [
        "Is your API down? Nothing seems to work.",
        "Everything is failing, is there an outage?",
        "The API is down for us. Please help ASAP.",
        "Our whole product is broken because your API is not responding properly.",
        "is there an incident?? we are dead in the water",
        "We can't get anything through.",
    ],
    "ratelimit": [
        "It looks like you are rate limiting us, we did not change anything.",
        "We think we are being throttled. Did you lower our limits?",
        "Our requests get rejected, probably rate limits? Please raise them.",
        "Are there new limits on the API? We are getting blocked.",
    ],
    "auth": [
        "Our API key stopped working, we get unauthorized errors.",
        "Authentication fails for some of our services.",
        "We get 401s all of a sudden.",
        "None of our keys seem to authenticate anymore, or at least some don't.",
    ],
    "account": [
        "Something is wrong with our account, things stopped working.",
        "Can you check our account? Something is off.",
        "We have a problem with our account, not sure what.",
        "Please look at our account, our team is blocked.",
        "hi, our account seems broken?",
    ],
    "billing": [
        "Our payment was declined and we don't understand why.",
        "We received an email that the invoice is past due.",
        "The card charge failed, what should we do?",
        "Why did our payment fail? The card should be fine.",
        "We got a failed payment notice.",
    ],
    "odd": [
        "Some responses look different from what the docs say.",
        "We see data we don't expect in some responses.",
        "Timestamps in some responses look wrong to us.",
        "Webhook signatures fail to verify for a handful of events.",
        "Our logs show request ids we cannot match to our calls.",
        "IDs we get back are no longer in the order they used to be.",
        "Results of the same query differ between two calls a second apart.",
    ],
}

HOWTO_BODIES = [
    "How do I page through more than 100 results on {ep}?",
    "What is the recommended retry policy for {ep}?",
    "Can we filter {ep} by creation date?",
    "How do idempotency keys work with {ep}?",
    "Is there a sandbox where we can test {ep} without being billed?",
    "How do we rotate API keys without downtime?",
    "What does the field `status` mean in the {ep} response?",
    "Is there a bulk version of {ep}?",
    "How can we see our monthly usage and how close we are to our quota?",
    "Which timezone are timestamps returned in?",
    "Can we set up webhooks per environment?",
    "What's the max payload size for {ep}?",
    "Does your Python SDK support async?",
]

MISROUTED_BODIES = {
    "success": [
        "We'd like a quote for upgrading to a higher plan for 3 teams.",
        "Who can we talk to about renewing our contract?",
        "Do you offer volume discounts for annual commitments?",
        "We want to add 20 seats, who handles that?",
    ],
    "partners": [
        "We are a consultancy and want to join your partner program.",
        "How do we list our app on your integrations marketplace?",
        "Question about reseller margins for our clients.",
        "Can we get a partner sandbox for our agency?",
    ],
    "security": [
        "Attached is our vendor security questionnaire, can you fill it in?",
        "Can you send your SOC 2 Type II report?",
        "Our legal team needs a signed DPA.",
        "We'd like to report a potential security finding responsibly.",
    ],
    "billing": [
        "Please add our VAT number to future invoices.",
        "Can you change our billing email address?",
        "We need a PO number on our invoices.",
        "Can we switch from card to bank transfer?",
    ],
}
MISROUTED_SUBJECTS = {
    "success": ["Upgrade quote", "Contract renewal", "Pricing question", "Sales"],
    "partners": ["Partner program", "Marketplace listing", "Partnership"],
    "security": ["Security questionnaire", "SOC 2 report", "DPA", "Security"],
    "billing": ["VAT number", "Invoice details", "Billing contact change"],
}

GREETINGS = [
    "Hi,",
    "Hello team,",
    "Hi there,",
    "Hey,",
    "Good morning,",
    "Dear support,",
    "",
    "",
    "Hi support team,",
]
SIGNOFFS = ["Thanks", "Thanks!", "Best regards", "Cheers", "Regards", "thx", "Thank you", ""]
DETAILS_LINE = [
    "We see {st} responses{code_part}{ep_part}.",
    "Error we get: {st}{code_part}{ep_part}.",
    "From our logs: HTTP {st}{code_part}{ep_part}.",
    "status {st}{code_part}{ep_part}",
]
URGENCY = [
    "This is blocking our release.",
    "Our customers are complaining.",
    "Please advise.",
    "Can you look into it quickly?",
    "Not urgent but would like to understand.",
    "",
    "",
    "",
]


def _typos(text: str, rng: np.random.Generator) -> str:
    words = text.split(" ")
    for i, w in enumerate(words):
        if len(w) > 4 and rng.random() < 0.05:
            j = int(rng.integers(1, len(w) - 2))
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def ticket_text(
    cause: str,
    *,
    endpoint: str,
    method: str,
    status: int,
    code: str | None,
    slow: bool,
    odd: bool,
    vague: bool = False,
    misroute_to: str,
    user_name: str,
    user_email: str,
    last4: str,
    rng: np.random.Generator,
) -> tuple[str, str, str]:
    """Return (subject, description, symptom) of a ticket."""
    mix = dict(SYMPTOM_MIX[cause])
    if slow:
        mix = {"slow": 0.6, "errors": 0.15, "down": 0.1, "account": 0.15}
    if odd:
        mix = {"odd": 0.8, "account": 0.2}
    if cause == "customer_integration" and status == 401:
        mix = {"auth": 0.3, "errors": 0.4, "account": 0.18, "down": 0.12}
    if cause == "billing_issue" and status == 402:
        mix = {"errors": 0.3, "down": 0.3, "account": 0.25, "billing": 0.15}
    if vague:  # a symptom with no detail: no code, no endpoint, no status
        mix = {"account": 0.45, "errors": 0.3, "down": 0.15, "slow": 0.1}
        status, code = 0, None
    keys = list(mix)
    sym = rng.choice(keys, p=[mix[k] for k in keys])
    ep = f"{method} {endpoint}" if rng.random() < 0.6 else endpoint
    if sym == "misrouted":
        to = misroute_to or "success"
        subject = str(rng.choice(MISROUTED_SUBJECTS[to]))
        core = str(rng.choice(MISROUTED_BODIES[to]))
    elif sym == "howto":
        subject = str(rng.choice(SUBJECTS["howto"])).format(ep=endpoint)
        core = str(rng.choice(HOWTO_BODIES)).format(ep=ep)
    else:
        subject = str(rng.choice(SUBJECTS[sym]))
        core = str(rng.choice(OPENERS[sym]))
    parts = [core]
    if status and sym in ("errors", "down", "ratelimit", "auth", "account") and rng.random() < 0.32:
        code_part = f" ({code})" if code and rng.random() < 0.45 else ""
        ep_part = f" on {ep}" if rng.random() < 0.6 else ""
        parts.append(
            str(rng.choice(DETAILS_LINE)).format(st=status, code_part=code_part, ep_part=ep_part)
        )
    elif sym in ("errors", "slow", "odd") and not vague and rng.random() < 0.3:
        parts.append(
            f"Mostly on {ep}." if rng.random() < 0.5 else "It seems to affect several endpoints."
        )
    if sym == "billing" and rng.random() < 0.4:
        parts.append(f"The card on file ends in {last4}.")
    if rng.random() < 0.15:
        parts.append(
            str(
                rng.choice(
                    [
                        "Started roughly an hour ago.",
                        "Since about 10 minutes.",
                        "Since yesterday evening maybe.",
                        "We noticed it after lunch.",
                        "First alert fired at the top of the hour.",
                    ]
                )
            )
        )
    parts.append(str(rng.choice(URGENCY)))
    body = " ".join(p for p in parts if p)
    if rng.random() < 0.3:
        body = _typos(body, rng)
    if rng.random() < 0.2:
        body = body.lower()
    greet = str(rng.choice(GREETINGS))
    sign = str(rng.choice(SIGNOFFS))
    first = user_name.split(" ")[0]
    sig = f"{sign}\n{first}" if sign else first
    if rng.random() < 0.2:
        sig += f"\n{user_email}"
    desc = "\n\n".join(x for x in (greet, body, sig) if x)
    if rng.random() < 0.1:
        subject = subject.upper() if rng.random() < 0.3 else subject.lower()
    if rng.random() < 0.08:
        subject = "Re: " + subject
    return subject, desc, sym
