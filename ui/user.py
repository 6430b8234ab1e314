"""User view: look up a user → profile, interests with sentiment, segment, recommendations."""

from __future__ import annotations

import logging
from collections.abc import Callable

import gradio as gr

from interestlens.agent import Assistant, Recommendation, UserProfile, excerpt
from interestlens.ui.session import Session
from interestlens.ui.text import attempt, chip, md, sentiment

logger = logging.getLogger(__name__)

N_RECOMMENDATIONS = 5
N_EVENTS = 8
N_SUGGESTED = 40
INTEREST_HEADERS = ["Interest", "Mentions", "Sentiment", "Tone"]
EVENT_HEADERS = ["Time", "Type", "Item", "Sentiment", "Text"]
HINT = "Pick one of the most active users above, or type any user id, then **Look up**."
ACTIVE_USERS_SQL = 'SELECT "user" FROM users ORDER BY n_events DESC, "user"'


def confidence_word(confidence: float) -> str:
    """Return how sure the segment assignment is, in words."""
    return "high" if confidence >= 0.7 else "medium" if confidence >= 0.4 else "low"


def profile_markdown(profile: UserProfile) -> str:
    """Return the profile card of one user."""
    outlier = (" · ⚠ outlier: assigned to the nearest segment with low confidence"
               if profile.is_outlier else "")
    return "\n".join([
        f"### User {md(profile.user)}",
        f"**Segment:** {md(profile.segment_id)} · {md(profile.segment_name)}  ",
        f"**Confidence:** {profile.confidence:.2f} ({confidence_word(profile.confidence)})"
        f"{outlier}  ",
        f"**Events:** {profile.n_events:,}  ",
        "**Top interests:** " + (" ".join(chip(t) for t in profile.top_interests) or "—"),
    ])


def recommendations_markdown(recommendations: list[Recommendation]) -> str:
    """Return the recommendations as a numbered list, each with its reason and how it was made."""
    if not recommendations:
        return "No recommendations: this user has seen every item."
    lines = ["#### Recommended for this user"]
    for rec in recommendations:
        title = md(excerpt(rec.item_text, 90)) or md(rec.item_id)
        level = " · cold start: picked for the segment" if rec.level == "cold_start" else ""
        lines += [f"{rec.rank}. **{title}** <small>({md(rec.item_id)} · score "
                  f"{rec.score:.2f}{level})</small>  ",
                  f"   {md(rec.reason)} `{rec.reason_mode}`"]
    return "\n".join(lines)


def look_up(session: Session, user_id: str) -> tuple:
    """Return the user's profile, interests, recommendations and latest events (or an error)."""
    user_id = (user_id or "").strip()
    if not user_id:
        return HINT, _hidden(), "", _hidden()
    assistant = session.assistant
    profile, error = attempt(lambda: assistant.user(user_id))
    if profile is None:
        return error, _hidden(), "", _hidden()
    interests, error = attempt(lambda: assistant.interest_sentiment(user_id))
    rows = [] if interests is None else [
        [r.interest, int(r.n_events), None if r.n_events == 0 else round(float(r.sentiment), 2),
         "—" if r.n_events == 0 else sentiment(float(r.sentiment), markup=False)]
        for r in interests.itertuples(index=False)]
    recommendations, rec_error = attempt(lambda: assistant.recommend(user_id, N_RECOMMENDATIONS))
    events, _ = attempt(lambda: assistant.user_events(user_id, N_EVENTS))
    event_rows = [] if events is None else [
        [str(r.timestamp)[:16] if str(r.timestamp) != "NaT" else "—", r.event_type,
         excerpt(str(r.item_text or ""), 40), round(float(r.sentiment), 2), excerpt(r.text, 160)]
        for r in events.itertuples(index=False)]
    return (profile_markdown(profile) + (f"\n\n{error}" if error else ""),
            gr.Dataframe(value=rows, headers=INTEREST_HEADERS, visible=True),
            rec_error or recommendations_markdown(recommendations),
            gr.Dataframe(value=event_rows, headers=EVENT_HEADERS, visible=True))


def _hidden() -> gr.Dataframe:
    return gr.Dataframe(value=None, visible=False)


def suggestions(session: Session) -> gr.Dropdown:
    """Return the user picker filled with the most active users (any id may be typed)."""
    frame, _ = attempt(lambda: session.assistant.query_events(ACTIVE_USERS_SQL,
                                                              limit=N_SUGGESTED))
    users = [] if frame is None else [str(u) for u in frame["user"]]
    return gr.Dropdown(choices=users, value=None)


def build(state: gr.State, new_assistant: Callable[[], Assistant]) -> list:
    """Lay out the user view; return its refresh outputs."""
    with gr.Row(equal_height=True):
        user = gr.Dropdown(label="User id (type any id, or pick one of the most active users)",
                           allow_custom_value=True, filterable=True, scale=4, elem_id="il-user")
        lookup = gr.Button("Look up", variant="primary", scale=1, min_width=120,
                           elem_id="il-lookup")
    with gr.Row():
        with gr.Column(scale=2):
            profile = gr.Markdown(HINT, elem_id="il-profile")
            interests = gr.Dataframe(headers=INTEREST_HEADERS, interactive=False, visible=False,
                                     label="Interests and how they talk about them",
                                     elem_id="il-interests", elem_classes="il-table")
        with gr.Column(scale=3):
            recommendations = gr.Markdown(elem_id="il-recs")
    events = gr.Dataframe(headers=EVENT_HEADERS, interactive=False, wrap=True, visible=False,
                          label="Latest events", max_height=300, elem_id="il-events",
                          elem_classes="il-table",
                          column_widths=["13%", "9%", "18%", "9%", "51%"])

    def on_look_up(user_id, session):
        session = Session.ensure(session, new_assistant)
        return session, *look_up(session, user_id)

    gr.on([lookup.click, user.select], on_look_up, [user, state],
          [state, profile, interests, recommendations, events])
    return [user]
