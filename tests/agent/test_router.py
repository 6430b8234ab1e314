"""Offline router: accuracy over bilingual questions, argument extraction, not-understood."""

from __future__ import annotations

import pytest

from interestlens.agent.router import extract_entities, extract_interest
from interestlens.agent.toolbelt import ChatContext

# (question, expected intent or None, expected arguments; "interest" is matched as a substring).
# None of these is one of the router's own examples. The cue words were tuned on the first 64;
# the next 29 and 26 were written afterwards and scored 28/29 and 20/26 before their misses were
# fixed; the last 20 were never tuned on (19/20 when added).
CASES = [
    ("Show me every segment", "list_segments", {}),
    ("How many groups are there and what are they?", "list_segments", {}),
    ("Tell me more about segment S4", "describe_segment", {"segment_id": "S4"}),
    ("What is S2 all about?", "describe_segment", {"segment_id": "S2"}),
    ("Which segments care most about espresso?", "find_segments", {"interest": "espresso"}),
    ("Which groups are into craft beer?", "find_segments", {"interest": "craft beer"}),
    ("Which segments talk about delivery delays?", "find_segments", {"interest": "delivery"}),
    ("Find the users who love hops", "find_users", {"interest": "hops"}),
    ("Who are the 5 users most interested in grinders?", "find_users",
     {"interest": "grinders", "k": 5}),
    ("Show me user u0042", "user_profile", {"user_id": "u0042"}),
    ("Which segment does user u17 belong to?", "user_profile", {"user_id": "u17"}),
    ("Who is user u123 and what do they like?", "user_profile", {"user_id": "u123"}),
    ("What should I recommend to user u0042?", "recommend_for_user", {"user_id": "u0042"}),
    ("Suggest 3 items for customer u9", "recommend_for_user", {"user_id": "u9", "k": 3}),
    ("What can we promote to segment S3?", "recommend_for_segment", {"segment_id": "S3"}),
    ("Recommend 4 products for S1", "recommend_for_segment", {"segment_id": "S1", "k": 4}),
    ("How is S1 different from S3?", "compare_segments", {"segment_a": "S1", "segment_b": "S3"}),
    ("Compare segment 2 with segment 4", "compare_segments",
     {"segment_a": "S2", "segment_b": "S4"}),
    ("Which segment has the most events?", "events_by_segment", {}),
    ("Which group is the unhappiest?", "sentiment_by_segment", {}),
    ("How many reviews, comments and answers do we have per event type?", "events_by_type", {}),
    ("What share of the data is Chinese?", "languages", {}),
    ("Which items are the most popular?", "top_items", {}),
    ("Show the monthly activity trend", "activity_by_month", {}),
    ("What share of each segment's posts mention refunds?", "mentions_by_segment",
     {"interest": "refund"}),
    ("Export S2 as JSON for the CRM", "export_segment", {"segment_id": "S2", "fmt": "json"}),
    ("Download segment 3's users as a CSV", "export_segment", {"segment_id": "S3", "fmt": "csv"}),
    ("Draw the processing pipeline", "show_pipeline", {}),
    ("Analyse the file data/new_reviews.csv", "run_pipeline",
     {"paths": ["data/new_reviews.csv"]}),
    ("Run this SQL: SELECT language, COUNT(*) FROM events GROUP BY language", "raw_sql",
     {"sql": "SELECT language, COUNT(*) FROM events GROUP BY language"}),
    ("What can you help me with?", "help", {}),
    ("给我看看所有的分群", "list_segments", {}),
    ("一共分成了几类用户？", "list_segments", {}),
    ("S3这个分群是什么情况", "describe_segment", {"segment_id": "S3"}),
    ("讲讲分群2", "describe_segment", {"segment_id": "S2"}),
    ("哪些分群最在乎价格？", "find_segments", {"interest": "价格"}),
    ("哪个群体对咖啡感兴趣", "find_segments", {"interest": "咖啡"}),
    ("哪些分群最关注售后", "find_segments", {"interest": "售后"}),
    ("找出喜欢啤酒的用户", "find_users", {"interest": "啤酒"}),
    ("哪些顾客在吐槽快递", "find_users", {"interest": "快递"}),
    ("用户u0042的兴趣是什么", "user_profile", {"user_id": "u0042"}),
    ("查一下顾客u8属于哪个群", "user_profile", {"user_id": "u8"}),
    ("谁是用户u77", "user_profile", {"user_id": "u77"}),
    ("有多少用户？", "events_by_segment", {}),
    ("用户 evil1 关心什么？", "user_profile", {"user_id": "evil1"}),
    ("顾客c42在乎的是什么", "user_profile", {"user_id": "c42"}),
    ("给用户u0042推荐点东西", "recommend_for_user", {"user_id": "u0042"}),
    ("为顾客u5推荐三款商品", "recommend_for_user", {"user_id": "u5", "k": 3}),
    ("给S1分群推荐哪些商品比较好", "recommend_for_segment", {"segment_id": "S1"}),
    ("针对第四个分群应该推送什么", "recommend_for_segment", {"segment_id": "S4"}),
    ("S1和S3有什么不同", "compare_segments", {"segment_a": "S1", "segment_b": "S3"}),
    ("对比分群2与分群4", "compare_segments", {"segment_a": "S2", "segment_b": "S4"}),
    ("哪个用户群的行为最多", "events_by_segment", {}),
    ("各个分群的情感倾向如何", "sentiment_by_segment", {}),
    ("不同类型的行为分别有多少条", "events_by_type", {}),
    ("中文和英文的数据各有多少", "languages", {}),
    ("哪些商品最热门", "top_items", {}),
    ("每个月的行为数量变化", "activity_by_month", {}),
    ("各分群提到退货的比例是多少", "mentions_by_segment", {"interest": "退货"}),
    ("把S2的用户导出成json", "export_segment", {"segment_id": "S2", "fmt": "json"}),
    ("导出第三个分群的名单", "export_segment", {"segment_id": "S3", "fmt": "csv"}),
    ("给我看一下处理流程图", "show_pipeline", {}),
    ("加载 data/reviews_2024.csv 并分析", "run_pipeline", {"paths": ["data/reviews_2024.csv"]}),
    ("执行SQL：SELECT segment, AVG(sentiment) FROM events GROUP BY segment", "raw_sql",
     {"sql": "SELECT segment, AVG(sentiment) FROM events GROUP BY segment"}),
    ("你都能回答哪些问题？", "help", {}),
    ("Give me a list of the segments", "list_segments", {}),
    ("Summarise segment S5 for me", "describe_segment", {"segment_id": "S5"}),
    ("Which segment is most interested in hiking boots?", "find_segments", {"interest": "hiking"}),
    ("Which customers mention the battery?", "find_users", {"interest": "battery"}),
    ("What do we know about user u555?", "user_profile", {"user_id": "u555"}),
    ("Recommend something for user u31", "recommend_for_user", {"user_id": "u31"}),
    ("Which items should we push to S2?", "recommend_for_segment", {"segment_id": "S2"}),
    ("S3 vs S5: what's different?", "compare_segments", {"segment_a": "S3", "segment_b": "S5"}),
    ("Average sentiment of each group", "sentiment_by_segment", {}),
    ("How many events per language?", "languages", {}),
    ("What are the top 5 items?", "top_items", {}),
    ("Export segment S4 to a CSV file", "export_segment", {"segment_id": "S4", "fmt": "csv"}),
    ("Show me the pipeline diagram", "show_pipeline", {}),
    ("How has the number of events changed per month?", "activity_by_month", {}),
    ("列出全部用户群", "list_segments", {}),
    ("分群S5有什么特征", "describe_segment", {"segment_id": "S5"}),
    ("哪个用户群最看重质量", "find_segments", {"interest": "质量"}),
    ("找几个提到退货的用户", "find_users", {"interest": "退货"}),
    ("u99这个用户是什么样的人", "user_profile", {"user_id": "u99"}),
    ("应该给用户u31推荐什么", "recommend_for_user", {"user_id": "u31"}),
    ("S2分群适合推送哪些商品", "recommend_for_segment", {"segment_id": "S2"}),
    ("分群1和分群2哪里不同", "compare_segments", {"segment_a": "S1", "segment_b": "S2"}),
    ("各分群的好评差评情况", "sentiment_by_segment", {}),
    ("按语言统计一下数据", "languages", {}),
    ("销量最高的商品有哪些", "top_items", {}),
    ("把分群4导出为CSV", "export_segment", {"segment_id": "S4", "fmt": "csv"}),
    ("展示一下系统架构流程", "show_pipeline", {}),
    ("What segments did you find?", "list_segments", {}),
    ("Give me the details on S6", "describe_segment", {"segment_id": "S6"}),
    ("Which audience segments are keen on trail running?",
     "find_segments", {"interest": "trail running"}),
    ("Find me 20 users who talk about lenses", "find_users", {"interest": "lens", "k": 20}),
    ("Profile for user u0042 please", "user_profile", {"user_id": "u0042"}),
    ("What items would you suggest for u0100?", "recommend_for_user", {"user_id": "u0100"}),
    ("Which products should we advertise to segment 2?",
     "recommend_for_segment", {"segment_id": "S2"}),
    ("Contrast S4 with S6", "compare_segments", {"segment_a": "S4", "segment_b": "S6"}),
    ("Are any segments unhappy?", "sentiment_by_segment", {}),
    ("What are the most common event types?", "events_by_type", {}),
    ("Export the users in S1 as csv", "export_segment", {"segment_id": "S1", "fmt": "csv"}),
    ("Which month had the most activity?", "activity_by_month", {}),
    ("有几个用户分群？", "list_segments", {}),
    ("详细介绍一下分群6", "describe_segment", {"segment_id": "S6"}),
    ("哪些人群对跑步感兴趣", "find_segments", {"interest": "跑步"}),
    ("找20个关心镜头的用户", "find_users", {"interest": "镜头", "k": 20}),
    ("用户u0100是哪个分群的", "user_profile", {"user_id": "u0100"}),
    ("给u0100推荐几款产品", "recommend_for_user", {"user_id": "u0100"}),
    ("分群2适合投放什么广告商品", "recommend_for_segment", {"segment_id": "S2"}),
    ("S4跟S6比有什么差别", "compare_segments", {"segment_a": "S4", "segment_b": "S6"}),
    ("哪些分群的用户不满意", "sentiment_by_segment", {}),
    ("最常见的行为类型是什么", "events_by_type", {}),
    ("把S1的用户名单导出", "export_segment", {"segment_id": "S1", "fmt": "csv"}),
    ("哪个月份最活跃", "activity_by_month", {}),
    ("Show an overview of all groups", "list_segments", {}),
    ("What kind of people are in S2?", "describe_segment", {"segment_id": "S2"}),
    ("Which segments are passionate about board games?",
     "find_segments", {"interest": "board games"}),
    ("List the users most interested in baby strollers", "find_users", {"interest": "stroller"}),
    ("What is user u0031's segment?", "user_profile", {"user_id": "u0031"}),
    ("Top 3 recommendations for user u0031", "recommend_for_user", {"user_id": "u0031", "k": 3}),
    ("How do segments 1 and 5 compare?",
     "compare_segments", {"segment_a": "S1", "segment_b": "S5"}),
    ("Which segment has the lowest sentiment?", "sentiment_by_segment", {}),
    ("How many English and Chinese events are there?", "languages", {}),
    ("Which items have the most interactions?", "top_items", {}),
    ("介绍一下S4", "describe_segment", {"segment_id": "S4"}),
    ("哪些群体比较关注婴儿用品", "find_segments", {"interest": "婴儿用品"}),
    ("列出提到降噪的用户", "find_users", {"interest": "降噪"}),
    ("用户u0031喜欢什么", "user_profile", {"user_id": "u0031"}),
    ("帮我给分群5推荐一些商品", "recommend_for_segment", {"segment_id": "S5"}),
    ("比一比S2和S3", "compare_segments", {"segment_a": "S2", "segment_b": "S3"}),
    ("各分群情绪对比", "sentiment_by_segment", {}),
    ("导出分群3为json", "export_segment", {"segment_id": "S3", "fmt": "json"}),
    ("数据处理都有哪些步骤", "show_pipeline", {}),
    ("哪些兴趣群在增长？", "segment_trends", {}),
    ("Which segments are growing?", "segment_trends", {}),
    ("Did any segment split or merge since the last update?", "segment_trends", {}),
    ("哪些分群消失了，有没有新出现的分群？", "segment_trends", {}),
    ("How have the user groups evolved?", "segment_trends", {}),
    ("最近哪些用户群在萎缩", "segment_trends", {}),
    ("What's the weather like tomorrow?", None, {}),
    ("Who won the football game yesterday?", None, {}),
    ("今天股票涨了吗", None, {}),
    ("Tell me a joke about cats", None, {}),
    ("明天北京天气怎么样", None, {}),
    ("讲个笑话吧", None, {}),
    ("帮我写一首诗", None, {}),
    ("How do I cook pasta?", None, {}),
    ("你好，今天过得怎么样", None, {}),
]


def _matches(route, intent, expected) -> bool:
    if route is None or intent is None:
        return route is None and intent is None
    if route.intent.name != intent:
        return False
    for key, value in expected.items():
        got = {**route.args, **route.shown}.get(key)
        if key == "interest" and not (got and value.lower() in got.lower()):
            return False
        if key != "interest" and got != value:
            return False
    return True


def test_router_accuracy_on_bilingual_questions(router):
    rows, n_right = [], 0
    for question, intent, expected in CASES:
        route = router.route(question)
        ok = _matches(route, intent, expected)
        n_right += ok
        got = "-" if route is None else f"{route.intent.name} {route.args}"
        rows.append(f"{'ok ' if ok else 'BAD'} {question!r:70} -> {got}")
    accuracy = n_right / len(CASES)
    n_zh = sum(any("\u4e00" <= c <= "\u9fff" for c in q) for q, _, _ in CASES)
    print("\n".join(rows))
    print(f"router accuracy: {n_right}/{len(CASES)} = {accuracy:.1%} "
          f"({n_zh} Chinese, {len(CASES) - n_zh} English questions)")
    assert len(CASES) >= 40
    assert accuracy >= 0.9


def test_compound_question_is_split_into_steps(router):
    steps = router.split("哪些用户群最关心价格？给他们推荐什么？")
    assert steps == ["哪些用户群最关心价格？", "给他们推荐什么？"]
    first = router.route(steps[0])
    assert (first.intent.name, first.args["interest"]) == ("find_segments", "价格")


def test_pronoun_takes_the_segment_in_focus(router):
    context = ChatContext(language="zh", segment_ids=["S3", "S1"])
    route = router.route("给他们推荐什么？", context=context)
    assert route.intent.name == "recommend_for_segment"
    assert route.args["segment_id"] == "S3"
    assert route.missing is None


def test_missing_id_is_reported_not_guessed(router):
    route = router.route("describe the segment please")
    assert route is not None and route.intent.name == "describe_segment"
    assert route.missing == "segment_id"


@pytest.mark.parametrize(("text", "segments", "user", "k"), [
    ("compare S1 and s3", ("S1", "S3"), None, None),
    ("分群3和第五个分群", ("S3", "S5"), None, None),
    ("top 7 users like user u_19", (), "u_19", 7),
    ("给用户42推荐前五个商品", (), "42", 5),
    ("the second group vs the fourth group", ("S2", "S4"), None, None),
])
def test_entities_are_extracted(text, segments, user, k):
    entities = extract_entities(text)
    assert entities.segment_ids == segments
    assert entities.user_id == user
    assert entities.k == k


@pytest.mark.parametrize(("text", "paths"), [
    ("加载 data/reviews_2024.csv 并分析", ("data/reviews_2024.csv",)),
    ("导出到/tmp/out.json", ("/tmp/out.json",)),
    ("process the folder data/coffee now", ("data/coffee",)),
    ("run ./in/x.parquet and ~/y.tsv", ("./in/x.parquet", "~/y.tsv")),
    ("compare S1/S2", ()),
    ("按分群/情感统计", ()),
])
def test_paths_are_found_without_swallowing_words(text, paths):
    assert extract_entities(text).paths == paths


def test_quoted_interest_wins_over_content_words():
    assert extract_interest(extract_entities('which segments care about "dark roast" beans')) \
        == "dark roast"
    assert extract_interest(extract_entities("哪些用户群最关心“售后服务”")) == "售后服务"


def test_an_export_to_a_named_file_is_not_a_load(router):
    route = router.route("Export the users of segment S1 to out/new.csv")
    assert route.tool == "export_segment" and route.args["path"] == "out/new.csv"


def test_export_path_and_format_come_from_the_question(router):
    route = router.route("export S2 to exports/coffee.json")
    assert route.args == {"segment_id": "S2", "fmt": "json", "path": "exports/coffee.json"}
    assert router.route("把S3导出").args == {"segment_id": "S3", "fmt": "csv"}


def test_sql_text_is_kept_verbatim():
    entities = extract_entities("run: SELECT \"user\", text FROM events WHERE text LIKE '%S1%';")
    assert entities.sql == "SELECT \"user\", text FROM events WHERE text LIKE '%S1%'"
    assert entities.segment_ids == ()


@pytest.mark.parametrize("question", [
    "what did user te1 write", "用户 te1 说了什么？", "用户te1写了什么", "顾客 te1 发过哪些评论？",
])
def test_what_a_user_wrote_goes_to_the_profile_in_both_languages(router, question):
    route = router.route(question)
    assert route is not None and route.tool == "user_profile", route
    assert route.args == {"user_id": "te1"} and route.missing is None


@pytest.mark.parametrize("question", [
    "哪些兴趣群在增长？", "Which segments are growing?", "Which groups shrank the most?",
    "有哪些分群合并了", "Were any new segments born?", "兴趣群的变化趋势",
])
def test_questions_about_segment_growth_go_to_the_trends_tool(router, question):
    route = router.route(question)
    assert route is not None and route.tool == "segment_trends", route
    assert route.missing is None
