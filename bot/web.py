"""The customers' pages on the desk's HTTP server: rating links, the comment form, "did this solve it?".

    GET  /csat/{token}            the rating the link carries, with a button to send it (changes nothing)
    POST /csat/{token}            record the rating (the first one counts), thank the customer, offer a comment
    GET  /csat/comment/{token}    the comment form (or the comment already given)
    POST /csat/comment/{token}    store the comment once
    GET  /deflect/{token}         the answer the link carries, with a button to send it (changes nothing)
    POST /deflect/{token}         "yes" resolves the ticket without an agent; "no" tells the team

A GET never changes anything: mail security scanners (Safe Links and the like) open every link in a message
before the customer does, and a rating or "yes, solved" recorded on GET would be theirs, not the customer's.

Every token is checked (`bot.links`) before anything is read; a forged, changed, expired or wrong-purpose one
gets the same 404 page and changes nothing. Pages are small HTML: no JavaScript, inline CSS, every value
escaped, and headers that keep them out of frames, caches and Referer headers. HEAD is not served on the
links that change something, so a link checker's HEAD request records nothing either.
"""

from __future__ import annotations

import html

from aiohttp import web

from bot import csat, deflection
from bot.dashboard import add_dashboard_routes
from bot.desk import Desk
from bot.links import TOKEN_LIFETIME, Purpose, read_token

_STYLE = (
    "body{margin:0;background:#f4f3f0;color:#1c1c1e;font:17px/1.55 system-ui,-apple-system,'Segoe UI',"
    "Roboto,sans-serif}main{max-width:34rem;margin:2.5rem auto;padding:1.75rem 2rem;background:#fff;"
    "border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.12)}h1{font-size:1.45rem;line-height:1.3;margin:0 0 1rem}"
    "a{color:#0a58ca}label{display:block;font-weight:600;margin:1.25rem 0 .4rem}"
    "textarea{box-sizing:border-box;width:100%;min-height:9rem;padding:.6rem;font:inherit;border:1px solid #767676;"
    "border-radius:6px}button{margin-top:1rem;padding:.6rem 1.4rem;font:inherit;color:#fff;background:#0a58ca;"
    "border:0;border-radius:6px;cursor:pointer}a:focus,button:focus,textarea:focus{outline:3px solid #e8a100;"
    "outline-offset:2px}.error{color:#a4161a;font-weight:600}.hint{color:#555;font-size:.9rem}"
    "blockquote{margin:1rem 0;padding:.25rem 0 .25rem 1rem;border-left:4px solid #c9c9c9;white-space:pre-wrap}"
)
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
}


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def page(title: str, paragraphs: list[str], *, status: int = 200, extra_html: str = "") -> web.Response:
    """A whole page; `title` and `paragraphs` are plain text (escaped here), `extra_html` is built escaped."""
    body = "".join(f"<p>{_e(p)}</p>" for p in paragraphs)
    text = (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="robots" content="noindex, nofollow"><title>{_e(title)}</title>'
            f"<style>{_STYLE}</style></head><body><main><h1>{_e(title)}</h1>{body}{extra_html}</main></body></html>")
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8", headers=_HEADERS)


def not_valid() -> web.Response:
    return page("This link is not valid", [
        f"This link is not valid. It may have expired (links work for {TOKEN_LIFETIME.days} days) or been copied "
        "incompletely. Nothing was changed.",
        "If you still need help, reply to any email from us.",
    ], status=404)


def _comment_offer(link: str) -> str:
    return f'<p><a href="{_e(link)}">Add a comment about your experience</a> (optional).</p>'


def _comment_form(rating: int, text: str = "", error: str = "") -> str:
    problem = f'<p class="error" id="feedback-error" role="alert">{_e(error)}</p>' if error else ""
    described = "feedback-hint feedback-error" if error else "feedback-hint"
    return (f"<p>You rated us {rating} out of 5.</p>{problem}"
            f'<form method="post"><label for="feedback">Your comment</label>'
            f'<textarea id="feedback" name="feedback" maxlength="{csat.MAX_FEEDBACK}" required '
            f'aria-describedby="{described}">{_e(text)}</textarea>'
            f'<p class="hint" id="feedback-hint">Up to {csat.MAX_FEEDBACK:,} characters. '
            "You can send one comment.</p><button type=\"submit\">Send comment</button></form>")


def _confirm(button: str, note: str = "") -> str:
    """A form that POSTs back to the page's own address: the customer's click, not a scanner's fetch."""
    hint = f'<p class="hint">{_e(note)}</p>' if note else ""
    return f'<form method="post"><button type="submit">{_e(button)}</button></form>{hint}'


def _quoted(feedback: str) -> str:
    return f"<blockquote>{_e(feedback)}</blockquote>"


def add_customer_routes(web_app: web.Application, desk: Desk) -> None:
    """Register the customer pages on `web_app` (the Slack server's, or `build_customer_web_app`'s)."""

    async def rate_form(request: web.Request) -> web.Response:
        claim = await read_token(desk, request.match_info["token"], Purpose.RATING)
        if claim is None or claim.value not in {str(r) for r in csat.RATINGS}:
            return not_valid()
        found = await csat.satisfaction_of(desk, claim.ticket_id)
        if found is None:
            return not_valid()
        if found.rating is not None:
            return page("You already rated this, thank you", [
                f"You rated ticket {claim.ticket_id} {found.rating} out of 5. The first rating counts."])
        return page(f"Rate ticket {claim.ticket_id}: {claim.value} out of 5", [],
                    extra_html=_confirm(f"Send my rating: {claim.value} out of 5",
                                        "Nothing is recorded until you press the button."))

    async def rate(request: web.Request) -> web.Response:
        claim = await read_token(desk, request.match_info["token"], Purpose.RATING)
        if claim is None or claim.value not in {str(r) for r in csat.RATINGS}:
            return not_valid()
        outcome = await csat.record_rating(desk, claim.ticket_id, int(claim.value))
        if outcome.result is csat.Result.NOT_FOUND or outcome.rating is None:
            return not_valid()
        offer = "" if outcome.feedback is not None else _comment_offer(
            await csat.comment_link(desk, claim.ticket_id, outcome.rating))
        if outcome.result is csat.Result.ALREADY:
            return page("You already rated this, thank you", [
                f"You rated ticket {claim.ticket_id} {outcome.rating} out of 5. The first rating counts; "
                "nothing was changed."], extra_html=offer)
        sorry = (["We are sorry it was not better. The team lead will look at your ticket again."]
                 if outcome.rating <= csat.LOW_RATING else [])
        return page("Thank you for your rating", [
            f"You rated ticket {claim.ticket_id} {outcome.rating} out of 5.", *sorry], extra_html=offer)

    async def comment_form(request: web.Request) -> web.Response:
        claim = await read_token(desk, request.match_info["token"], Purpose.COMMENT)
        found = await csat.satisfaction_of(desk, claim.ticket_id) if claim else None
        if claim is None or found is None or found.rating is None:
            return not_valid()
        if found.feedback is not None:
            return page("Thank you for your comment", [f"Ticket {claim.ticket_id}: you rated us {found.rating} "
                                                       "out of 5 and wrote:"], extra_html=_quoted(found.feedback))
        return page(f"Tell us more about ticket {claim.ticket_id}", [], extra_html=_comment_form(found.rating))

    async def comment_post(request: web.Request) -> web.Response:
        claim = await read_token(desk, request.match_info["token"], Purpose.COMMENT)
        if claim is None:
            return not_valid()
        form = await request.post()
        given = form.get("feedback")
        text = given if isinstance(given, str) else ""
        outcome = await csat.record_feedback(desk, claim.ticket_id, text)
        result, title = outcome.result, f"Tell us more about ticket {claim.ticket_id}"
        if result in (csat.Result.NOT_FOUND, csat.Result.NOT_RATED) or outcome.rating is None:
            return not_valid()
        if result is csat.Result.RECORDED:
            return page("Thank you for your comment", ["We have passed it to the team. You wrote:"],
                        extra_html=_quoted(outcome.feedback or ""))
        if result is csat.Result.ALREADY:
            return page("We already have your comment, thank you",
                        ["One comment per ticket; nothing was changed. You wrote:"],
                        extra_html=_quoted(outcome.feedback or ""))
        error = ("Please write a comment before sending." if result is csat.Result.EMPTY else
                 f"Your comment is {len(text.strip()):,} characters; please keep it to {csat.MAX_FEEDBACK:,}.")
        return page(title, [], status=400, extra_html=_comment_form(outcome.rating, text, error))

    async def deflect_form(request: web.Request) -> web.Response:
        claim = await read_token(desk, request.match_info["token"], Purpose.DEFLECT)
        if claim is None or claim.value not in (deflection.YES, deflection.NO):
            return not_valid()
        if claim.value == deflection.YES:
            return page(f"Did that solve it? (ticket {claim.ticket_id})", [
                "If the answer we sent solved your problem, we will mark the ticket as resolved."],
                extra_html=_confirm("Yes, it solved my problem"))
        return page(f"Still need help? (ticket {claim.ticket_id})", [
            "Tell us the answer did not help, and someone from the team will answer you by email."],
            extra_html=_confirm("No, I still need help"))

    async def deflect(request: web.Request) -> web.Response:
        claim = await read_token(desk, request.match_info["token"], Purpose.DEFLECT)
        if claim is None or claim.value not in (deflection.YES, deflection.NO):
            return not_valid()
        outcome = await deflection.answer(desk, claim.ticket_id, claim.value == deflection.YES)
        ticket = claim.ticket_id
        match outcome.result:
            case deflection.Result.RESOLVED:
                return page("Glad that solved it", [
                    f"We have marked ticket {ticket} as resolved. If the problem comes back, reply to our email "
                    "and the ticket opens again."])
            case deflection.Result.NOTED:
                return page("Sorry that did not solve it", [
                    f"Ticket {ticket} stays open, and someone from the team will answer you by email."])
            case deflection.Result.ALREADY:
                said = "it solved the problem" if outcome.answer == deflection.YES else "it did not help"
                return page("We already have your answer, thank you", [
                    f"You told us {said} (ticket {ticket}). The first answer counts; nothing was changed."])
            case deflection.Result.CLOSED:
                return page("This ticket is already resolved", [
                    f"Ticket {ticket} was resolved already, so nothing was changed. If you still need help, "
                    "reply to our email."])
        return not_valid()

    router = web_app.router
    router.add_get("/csat/comment/{token}", comment_form, allow_head=False)
    router.add_post("/csat/comment/{token}", comment_post)
    router.add_get("/csat/{token}", rate_form, allow_head=False)
    router.add_post("/csat/{token}", rate)
    router.add_get("/deflect/{token}", deflect_form, allow_head=False)
    router.add_post("/deflect/{token}", deflect)


def build_customer_web_app(desk: Desk) -> web.Application:
    """The customer pages and the dashboard (and /health), for `serve` when there is no Slack HTTP server to join."""

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    web_app = web.Application(client_max_size=256 * 1024)
    web_app.router.add_get("/health", health)
    add_customer_routes(web_app, desk)
    add_dashboard_routes(web_app, desk)
    return web_app
