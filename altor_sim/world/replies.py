"""What agents and engineers write on a ticket: first replies, solving replies by cause, and
engineering notes by cause."""

FIRST_REPLIES = [
    "Thanks for reaching out, we're looking into this now.",
    "Thank you for the report. Could you share a request id or the time you first saw this?",
    "Hi {name}, thanks for contacting us. I'm checking this with the team.",
    "Thanks {name}. We're investigating and will update you shortly.",
]
SOLVE_REPLIES = {
    "known_bug": "This is a known issue our engineers are fixing ({ref}). Workaround: retry "
    "without the optional fields. We'll update you when the fix ships.",
    "deploy_regression": "A change we shipped caused these errors; it has been rolled back "
    "({ref}). Sorry for the trouble.",
    "platform_incident": "We had a service degradation that is now resolved. Details are on our "
    "status page ({ref}).",
    "plan_limit": "Your traffic exceeded your plan's rate limit, so the excess requests were "
    "rejected with 429. You can smooth bursts or upgrade ({ref}).",
    "billing_issue": "Your last payment did not go through ({ref}). Please update your payment "
    "method in the dashboard.",
    "customer_integration": "The errors come from the requests themselves (credentials or "
    "payload). Here is how to fix them: check the key and the request "
    "body against the docs.",
    "how_to": "Here's how to do that: see the guide in our docs; let us know if anything is "
    "unclear.",
    "misrouted": "I've passed this to the right team, they will follow up with you directly.",
    "novel": "Our engineers found and fixed the cause on our side. Thanks for your patience.",
}
ENG_NOTES = {
    "known_bug": "Matches {ref}; affected accounts listed there. Fix in progress.",
    "deploy_regression": "Error rate stepped up right after deploy {ref}; reverted.",
    "platform_incident": "Part of {ref}; all tenants on the service affected.",
    "plan_limit": "Requests above the plan limit were rejected with 429 ({ref}).",
    "billing_issue": "Subscription past due after failed charge ({ref}); 402s follow from that.",
    "customer_integration": "Only this tenant: 4xx from their own requests (bad key or payload). "
    "Nothing on our side.",
    "how_to": "Usage question, no errors in their logs.",
    "misrouted": "Not an engineering topic; moving to the owning team.",
    "novel": "Tenant-specific fault; root cause found in a data migration edge case. Patched.",
}
