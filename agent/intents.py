"""The offline router's catalogue: what each intent means, example questions, cues, answer leads.

Data only. Each intent names the tool it calls, the arguments it needs ("segment", "two_segments",
"user", "interest", "paths", "sql"), English and Chinese example questions (the router compares a
question with these), a regular expression of cue words (strong for Chinese, where the bundled
MiniLM is weak), fixed arguments (the canned analytics SQL), and the lead-in line of the
templated answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Canned analytics over the events table; ``{segment_filter}`` becomes "" or " AND segment = ?".
SQL = {
    "events_by_segment": 'SELECT segment, COUNT(*) AS n_events, COUNT(DISTINCT "user") AS n_users '
                         "FROM events WHERE TRUE{segment_filter} GROUP BY segment "
                         "ORDER BY n_events DESC",
    "sentiment_by_segment": "SELECT segment, ROUND(AVG(sentiment), 3) AS mean_sentiment, "
                            "COUNT(*) AS n_events FROM events WHERE TRUE{segment_filter} "
                            "GROUP BY segment ORDER BY mean_sentiment",
    "events_by_type": "SELECT event_type, COUNT(*) AS n_events FROM events "
                      "WHERE TRUE{segment_filter} GROUP BY event_type ORDER BY n_events DESC",
    "languages": "SELECT language, COUNT(*) AS n_events FROM events WHERE TRUE{segment_filter} "
                 "GROUP BY language ORDER BY n_events DESC",
    "top_items": 'SELECT item_id, COUNT(*) AS n_events, COUNT(DISTINCT "user") AS n_users '
                 "FROM events WHERE item_id IS NOT NULL{segment_filter} GROUP BY item_id "
                 "ORDER BY n_events DESC",
    "mentions_by_segment": "SELECT segment, COUNT(*) FILTER (WHERE text ILIKE ?) AS n_mentioning, "
                           "COUNT(*) AS n_events, ROUND(100.0 * COUNT(*) FILTER (WHERE text "
                           "ILIKE ?) / COUNT(*), 1) AS pct_mentioning FROM events "
                           "GROUP BY segment ORDER BY pct_mentioning DESC, n_mentioning DESC",
    "activity_by_month": "SELECT date_trunc('month', timestamp) AS month, COUNT(*) AS n_events "
                         "FROM events WHERE timestamp IS NOT NULL{segment_filter} "
                         "GROUP BY month ORDER BY month",
}


@dataclass(frozen=True)
class Intent:
    """One thing the offline router can do."""

    name: str
    tool: str | None  # None: answered without a tool (help)
    needs: tuple[str, ...]
    examples: tuple[str, ...]
    cues: str  # regular expression, case-insensitive
    lead: dict[str, str]  # answer lead-in per language, formatted with the tool arguments
    fixed: dict[str, Any] = field(default_factory=dict)
    then: str | None = None  # intent run next with the same arguments, as supporting evidence


def _analytics(name: str, examples: tuple[str, ...], cues: str, lead: dict[str, str],
               needs: tuple[str, ...] = ()) -> Intent:
    return Intent(name, "query_events", needs, examples, cues, lead,
                  fixed={"sql": SQL[name], "limit": 50})


INTENTS: tuple[Intent, ...] = (
    Intent("list_segments", "list_segments", (), (
        "list all segments", "what segments are there", "show me the user groups",
        "give me an overview of the segments", "how many segments did you find",
        "what kinds of users do we have",
        "列出所有分群", "有哪些用户群", "分群概览", "一共有几个分群", "我们有哪些类型的用户",
        "展示所有用户分组",
    ), r"\blist\b|overview|all (the )?(segments|groups)|what (segments|groups)|how many segments|"
       r"kinds of users|列出|概览|所有(的)?(分群|用户群|分组)|全部|有哪些(用户群|分群)|"
       r"(几|多少)个.{0,3}(分群|群)|几类|"
       r"多少(个|类)|分成|哪些类型",
        {"en": "Segments, largest first:", "zh": "所有分群（按规模从大到小）："}),
    Intent("describe_segment", "describe_segment", ("segment",), (
        "describe segment S2", "tell me about S3", "what is segment 4 about",
        "explain the S1 group", "who is in segment S5", "details of S2",
        "介绍一下S2分群", "S3是什么样的用户", "分群4的特点是什么", "说说第一个分群",
        "S1这个群体都在讨论什么",
        "S2的详细信息",
    ), r"describe|tell me about|what is .* about|explain|details?|who is in|介绍|特点|详细|"
       r"什么样|说说|讲讲|情况|特征|描述|是什么",
        {"en": "Segment {segment_id}:", "zh": "分群 {segment_id}："}),
    Intent("find_segments", "find_segments", ("interest",), (
        "which segments care most about battery life", "what groups are interested in hiking",
        "segments that talk about price", "which user groups like dark roast",
        "find segments interested in machine learning", "which cluster cares about shipping",
        "哪些用户群最关心价格", "哪个分群对物流最感兴趣", "关注售后服务的是哪些人群",
        "找出对性价比敏感的分群",
        "哪个群体最在意包装", "哪些分群在讨论电池续航",
    ), r"(segments?|groups?|clusters?|分群|用户群|人群|群体).*(care|interest|talk|like|into|keen|"
       r"fond|passion|enthusias|obsess|focus|关心|"
       r"关注|感兴趣|在意|在乎|重视|看重|偏好|热衷|喜欢|讨论|谈论|提到|敏感)|(care|interest|关心|关注|"
       r"感兴趣|在意|在乎|重视|看重|偏好|热衷).*(segments?|groups?|clusters?|分群|用户群|人群|群体)",
        {"en": "Segments closest to “{interest}”:", "zh": "与“{interest}”最相关的用户群："},
        then="mentions_by_segment"),
    Intent("find_users", "find_users", ("interest",), (
        "find users interested in espresso", "which users talk about refunds",
        "show me people who like science fiction", "top 10 users who care about quality",
        "list customers who mention shipping", "individual users that love beer",
        "找出对咖啡感兴趣的用户", "哪些用户在抱怨物流", "列出喜欢科幻电影的人",
        "关心质量的前10位用户",
        "提到退款的顾客有哪些", "哪些用户喜欢手冲咖啡",
    ), r"(\busers?\b|people|customers|individuals?|用户(?!群)|顾客|客户|的人).*(interest|talk|like|"
       r"love|care|mention|感兴趣|抱怨|吐槽|喜欢|关心|在乎|偏好|热衷|提到|谈到|说到|讨论|关注)|(interest|"
       r"talk|like|love|care|mention|感兴趣|抱怨|吐槽|喜欢|关心|在乎|偏好|热衷|提到|谈到|说到|讨论|关注)"
       r".*(\busers?\b|people|customers|用户(?!群)|顾客|客户|的人)",
        {"en": "Users closest to “{interest}”:", "zh": "与“{interest}”最接近的用户："}),
    Intent("user_profile", "user_profile", ("user",), (
        "show the profile of user u12", "what segment is user 42 in", "tell me about customer u7",
        "what does user u3 like", "who is user 1001", "interests of user u88",
        "what did user u5 write",
        "用户u12的画像", "用户42属于哪个分群", "u7这个用户喜欢什么", "查看用户1001的兴趣",
        "顾客u3是什么样的人",
        "用户u88的资料", "用户u5说了什么", "顾客42写过哪些评论", "用户u9关心什么",
    ), r"profile|which segment (is|does)|what segment is|who is user|interests of|belong|画像|属于|"
       r"资料|兴趣|谁是|是谁|什么样的人|(说|写|发|评论)(了|过)(什么|啥|哪些)|"
       r"(关心|喜欢|在乎|关注|感兴趣)(的是)?(什么|啥|哪些)",
        {"en": "Profile of user {user_id}:", "zh": "用户 {user_id} 的画像："}),
    Intent("recommend_for_user", "recommend_for_user", ("user",), (
        "what should we recommend to user u12", "recommend items for user 42",
        "suggest 3 products for u7", "what would user u3 like next",
        "give user 1001 some recommendations", "next best items for customer u88",
        "给用户u12推荐什么", "为用户42推荐商品", "给u7推荐3个产品", "用户u3接下来可能喜欢什么",
        "给顾客1001一些推荐", "向用户u88推荐什么内容",
    ), r"recommend|suggest|next best|like next|推荐|接下来|建议|适合",
        {"en": "Recommendations for user {user_id}:", "zh": "给用户 {user_id} 的推荐："}),
    Intent("recommend_for_segment", "recommend_for_segment", ("segment",), (
        "what should we recommend to segment S2", "recommend items for the S3 group",
        "campaign ideas for segment 4", "what products fit S1", "suggest content for them",
        "what should we push to this segment",
        "给S2分群推荐什么", "为第三个分群推荐商品", "给他们推荐什么", "S1适合推荐哪些产品",
        "针对这个群体推送什么内容",
        "给分群4做营销推荐",
    ), r"recommend|suggest|campaign|push|promot|推荐|推送|营销|投放|建议|适合",
        {"en": "Recommendations for segment {segment_id}:", "zh": "给分群 {segment_id} 的推荐："}),
    Intent("compare_segments", "compare_segments", ("two_segments",), (
        "compare S1 and S2", "how does segment 3 differ from segment 5", "S2 vs S4",
        "what is the difference between S1 and S3", "contrast groups 2 and 6",
        "S1 versus S2 keywords",
        "比较S1和S2", "分群3和分群5有什么区别", "S2与S4的差异", "对比一下S1和S3",
        "第二个和第六个分群有何不同",
        "S1跟S2哪里不一样",
    ), r"compar|differ|\bvs\.?\b|versus|contrast|比较|区别|差异|差别|对比|相比|不同|不一样|跟.+比",
        {"en": "{segment_a} compared with {segment_b}:",
         "zh": "{segment_a} 与 {segment_b} 的对比："}),
    _analytics("events_by_segment", (
        "how many events does each segment have", "event counts per segment",
        "number of reviews per group", "which segment is the most active", "activity by segment",
        "how many users and events per segment",
        "每个分群有多少条行为", "各分群的评论数量", "哪个分群最活跃", "按分群统计事件数",
        "每个用户群有多少人和多少条记录",
        "各群体的活跃度", "一共有多少用户",
    ), r"(how many|counts?|number of).*(per|each|by)|most (active|events|activity)|activity by|"
       r"events (per|by|for each)|每个.*多少|各.*(数量|多少)|(分群|群).*最活跃|活跃度|按分群统计|"
       r"(行为|记录|评论|事件)最多|(多少|几)(个)?(用户|人)[？?。]?$|(用户|人)(总)?数",
        {"en": "Events and users per segment:", "zh": "各分群的行为数和用户数："}),
    _analytics("sentiment_by_segment", (
        "which segment is the most negative", "average sentiment per segment",
        "which group is happiest", "sentiment by segment", "who complains the most",
        "mood of each segment",
        "哪个分群最负面", "各分群的平均情感", "哪个用户群最满意", "按分群统计情感", "谁抱怨最多",
        "每个群体的情绪怎么样",
    ), r"sentiment|negative|positive|happ|unhapp|complain|mood|satisf|情感|情绪|负面|正面|满意|"
       r"抱怨最多|"
       r"口碑|态度|好评|差评",
        {"en": "Mean sentiment per segment (most negative first):",
         "zh": "各分群的平均情感（最负面的在前）："}),
    _analytics("events_by_type", (
        "breakdown by event type", "how many reviews vs comments", "count events by type",
        "what types of events are in the data", "distribution of event types",
        "how many questions and answers are there",
        "按行为类型统计", "各类行为各有多少", "数据里有哪些事件类型", "评论和问答各有多少条",
        "行为类型分布", "事件类型的数量",
    ), r"event types?|by type|types of events|per type|类型|种类|各类行为",
        {"en": "Events by type:", "zh": "按行为类型统计："}),
    _analytics("languages", (
        "what languages are in the data", "language breakdown",
        "how many chinese vs english texts", "share of each language", "count events by language",
        "which languages do users write in",
        "数据中有哪些语言", "中英文各占多少", "语言分布", "按语言统计条数", "中文评论有多少",
        "用户用什么语言",
    ), r"languages?|chinese|english|语言|中文|英文|中英",
        {"en": "Events by language:", "zh": "按语言统计："}),
    _analytics("top_items", (
        "most popular items", "which items get the most interactions", "top products",
        "best-selling items", "what items are most discussed", "top 10 items by events",
        "最热门的商品", "哪些商品互动最多", "最受欢迎的产品", "讨论最多的物品", "热门物品排行",
        "前10个热门商品",
    ), r"popular|top (products|items)|best.?selling|items? (get|are) most|most discussed|热门|"
       r"最受欢迎|互动最多|讨论最多|排行|畅销|爆款|销量",
        {"en": "Items with the most events:", "zh": "互动最多的物品："}),
    _analytics("mentions_by_segment", (
        "how many events mention price in each segment", "share of each segment that mentions "
        "battery", "percentage of reviews per group mentioning delivery",
        "每个分群有多少条提到价格", "各分群提及物流的比例", "各个用户群说到电池的占比",
    ), r"(mention|提到|提及|说到).*(each|per|share|percent|比例|占比|多少条|各)|(each|per|share|"
       r"percent|比例|占比|各).*(mention|提到|提及|说到)",
        {"en": "Share of each segment's events that mention “{interest}”:",
         "zh": "各分群中提到“{interest}”的行为占比："}, needs=("interest",)),
    Intent("segment_trends", "segment_trends", (), (
        "which segments are growing", "how have the segments changed over time",
        "which groups are shrinking", "did any segment split or merge",
        "how did the segments evolve", "which new segments appeared since the last update",
        "哪些兴趣群在增长", "分群随时间有什么变化", "哪些用户群在缩小", "有没有分群分裂或合并",
        "哪些兴趣群合并了", "最近出现了哪些新的分群", "兴趣群的演变趋势",
    ), r"grow|shrink|declin|\bsplit|merg|evol|new (segments|groups)|appeared|disappear|\bdied\b|"
       r"segments? (changed|trends?)|增长|壮大|缩小|萎缩|分裂|合并|演变|演化|新出现|消失|"
       r"(兴趣群|分群|用户群|群体).{0,6}(变化|趋势)",
        {"en": "How the segments changed:", "zh": "兴趣群的变化："}),
    _analytics("activity_by_month", (
        "activity over time", "events per month", "how has activity changed over time",
        "monthly trend", "timeline of events", "when were users most active",
        "按月统计行为数", "活跃度随时间的变化", "每月的事件趋势", "时间趋势", "用户什么时候最活跃",
        "月度行为走势",
    ), r"over time|\bmonths?\b|monthly|trend|timeline|when were|按月|每个?月|哪个月|月度|月份|"
       r"随时间|"
       r"趋势|走势|"
       r"什么时候|变化",
        {"en": "Events per month:", "zh": "每月行为数："}),
    Intent("raw_sql", "query_events", ("sql",), (
        "run this query: SELECT segment, COUNT(*) FROM events GROUP BY segment",
        "sql: select count(*) from events", "执行查询 SELECT * FROM events LIMIT 5",
    ), r"\bselect\b.+\bfrom\b|\bsql\b|查询语句",
        {"en": "Query result:", "zh": "查询结果："}),
    Intent("export_segment", "export_segment", ("segment",), (
        "export segment S2 to csv", "download the user list of S3",
        "save S1 users as json for our CRM", "export them for an ad campaign",
        "give me a csv of segment 4", "write the users of S5 to a file",
        "导出S2分群的用户名单", "把S3的用户导出为csv", "将S1用户保存为json给CRM用",
        "导出他们用于广告投放",
        "下载分群4的用户列表", "把第五个分群的用户写入文件",
    ), r"export|download|save .*(csv|json)|\bcsv\b|\bjson\b|\bcrm\b|导出|下载|保存|写入文件|名单|"
       r"文件",
        {"en": "Export of segment {segment_id}:", "zh": "导出分群 {segment_id}："}),
    Intent("show_pipeline", "show_pipeline", (), (
        "show the pipeline", "how does the processing work", "draw the pipeline as a diagram",
        "what steps does the analysis run", "show me the mermaid chart", "explain the workflow",
        "展示处理流程", "画出流程图", "分析经过了哪些步骤", "数据处理管道是怎样的",
        "显示mermaid流程图", "工作流程是什么",
    ), r"pipeline|workflow|mermaid|diagram|steps|流程|管道|步骤|架构",
        {"en": "The pipeline:", "zh": "处理流程："}),
    Intent("run_pipeline", "run_pipeline", ("paths",), (
        "analyse data/reviews.csv", "run the pipeline on posts.jsonl",
        "load the file ./data/events.parquet", "segment the users in export.csv",
        "process the folder data/coffee", "import new data from reviews.tsv",
        "分析 data/reviews.csv", "加载文件 posts.jsonl 并分群", "对 ./data/events.parquet 运行流程",
        "处理 data/coffee 文件夹", "导入新数据 reviews.tsv", "用 export.csv 重新分群",
    ), r"\.(csv|tsv|jsonl?|parquet)\b|analy[sz]e|\bload\b|\bimport\b|加载|导入|重新分群|文件夹",
        {"en": "Pipeline run:", "zh": "运行结果："}),
    Intent("help", None, ("cue",), (
        "what can you do", "help", "how does this assistant work", "what questions can I ask",
        "你能做什么", "帮助", "怎么用", "我可以问什么问题",
    ), r"^\s*(help|帮助)\s*$|what can you (do|answer)|help me with|questions can|how (do|can) i "
       r"use|how does this (assistant|tool) work|"
       r"你(都)?能(做|回答)|"
       r"怎么用|可以问|能问|哪些问题|什么问题",
        {"en": "", "zh": ""}),
)
