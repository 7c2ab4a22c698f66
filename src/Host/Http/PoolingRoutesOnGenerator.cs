namespace Pipeline.Host.Http;

/// <summary>
/// A generation server's answer to the pooling routes (/v1/embeddings, /pooling, /classify, /score, /rerank): as vLLM,
/// 400 saying the model does not serve that task and how to serve one that does, instead of "no route".
/// </summary>
public static class PoolingRoutesOnGenerator
{
    static readonly (string Route, string Task)[] Routes =
    [
        ("/v1/embeddings", "embedding"), ("/pooling", "pooling"), ("/classify", "classification"),
        ("/score", "score"), ("/v1/score", "score"), ("/rerank", "rerank"), ("/v1/rerank", "rerank"), ("/v2/rerank", "rerank"),
    ];

    public static void Map(WebApplication app, Func<string?> servedModelName)
    {
        foreach (var (route, task) in Routes)
            app.MapPost(route, http => throw new ApiError(400, Message(servedModelName() ?? "the served model", task)));
    }

    public static string Message(string model, string task) =>
        $"The model `{model}` is a generation model and does not support the {task} API. Serve {(task == "embedding" ? "an embedding" : "a pooling")} model " +
        $"(e.g. a BERT-family encoder), or serve this model as one with `pipeline serve MODEL --runner pooling --convert {(task is "classification" or "score" or "rerank" ? "classify" : "embed")}`.";
}
