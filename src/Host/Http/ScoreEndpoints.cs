using Pipeline.Host.Protocol;
using Pipeline.Models.Architectures;
using Pipeline.Models.Pooling;

namespace Pipeline.Host.Http;

/// <summary>
/// vLLM's /score (/v1/score) and /rerank (/v1/rerank, /v2/rerank). A cross-encoder (one-label classification head)
/// reads each pair joined by the tokenizer's pair template; an embedding model scores a pair by the cosine
/// similarity of the two embeddings.
/// </summary>
public static class ScoreEndpoints
{
    public static async Task Score(HttpContext http, PoolingApi.Context ctx, ScoreRequest req)
    {
        PoolingApi.CheckModel(ctx, req);
        var (scores, tokens) = await ScorePairs(ctx, req.Pairs(), http.RequestAborted);
        await PoolingApi.WriteList(http, ctx, "score-", scores.Select((x, i) => new ScoreData { Index = i, Score = x }).ToList(), tokens,
            ProtocolJson.Default.PoolingListResponseScoreData);
    }

    public static async Task Rerank(HttpContext http, PoolingApi.Context ctx, RerankRequest req)
    {
        PoolingApi.CheckModel(ctx, req);
        var query = req.Query!;
        var docs = req.Documents!.Select(d => d.Text).ToList();
        int topN = req.TopN ?? docs.Count;
        bool returnDocs = req.ReturnDocuments ?? true;
        var (scores, tokens) = await ScorePairs(ctx, docs.Select(d => (query, d)).ToList(), http.RequestAborted);
        var ranked = Enumerable.Range(0, docs.Count).OrderByDescending(i => scores[i]).Take(topN).ToList();
        await Json.WriteAsync(http.Response, new RerankResponse
        {
            Id = "rerank-" + http.Items["request-id"],
            Model = ctx.ServedModelName,
            Usage = UsageInfo.TotalOnly(tokens),
            Results = ranked.Select(i => new RerankResult { Index = i, Document = returnDocs ? new RerankDocument(docs[i], WasObject: true) : null, RelevanceScore = scores[i] }).ToList(),
        }, ProtocolJson.Default.RerankResponse);
    }

    static async Task<(float[] Scores, int Tokens)> ScorePairs(PoolingApi.Context ctx, List<(string A, string B)> pairs, CancellationToken ct)
    {
        var tok = ctx.Tokenizer ?? throw ApiError.BadRequest("this model has no tokenizer; scoring needs text");
        var model = ctx.Engine.Runner.Model;
        try
        {
            if (model.NumLabels == 1)
            {
                var inputs = pairs.Select(p => tok.EncodePair(p.A, p.B)).ToList();
                foreach (var i in inputs)
                    if (i.Ids.Length > ctx.MaxModelLen) throw ApiError.BadRequest($"a text pair has {i.Ids.Length} tokens, more than the model's maximum of {ctx.MaxModelLen}");
                var scores = await PoolingApi.Run(ctx, PoolingTask.Score, inputs.Select(i => new PoolingInput(i.Ids, i.TypeIds)), new PoolingParams(), ct);
                return (scores.Select(s => s[0][0]).ToArray(), inputs.Sum(i => i.Ids.Length));
            }
            if (model.NumLabels > 1) throw ApiError.BadRequest($"{model.Config.Architecture} has {model.NumLabels} labels; scoring needs a one-label cross-encoder or an embedding model");
            var texts = pairs.SelectMany(p => new[] { p.A, p.B }).Distinct().ToList();
            var ids = texts.Select(t => tok.Encode(t)).ToList();
            var vectors = await PoolingApi.Run(ctx, PoolingTask.Embed, ids.Select(i => new PoolingInput(i)), new PoolingParams { Normalize = true }, ct);
            var byText = texts.Select((t, i) => (t, vectors[i][0])).ToDictionary(x => x.t, x => x.Item2);
            return (pairs.Select(p => Dot(byText[p.A], byText[p.B])).ToArray(), ids.Sum(i => i.Length));
        }
        catch (PoolingException e) { throw ApiError.BadRequest(e.Message); }
    }

    static float Dot(float[] a, float[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return (float)s;
    }
}
