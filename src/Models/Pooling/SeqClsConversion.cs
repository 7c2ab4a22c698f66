using System.Text.Json.Nodes;
using Pipeline.Models.Config;
using Pipeline.Models.Tokenizers;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Pooling;

/// <summary>
/// vLLM's online conversion of a causal LM into a sequence classifier (adapters.py, seq_cls_model_loader): config.json
/// (or --hf-overrides) names <c>classifier_from_token</c> and a <c>method</c>, and the 'score' head is built from the
/// lm_head rows of those tokens, looked up in the model's tokenizer as convert_tokens_to_ids does:
/// <list type="bullet">
/// <item><c>from_2_way_softmax</c> (Qwen3-Reranker, mxbai-rerank-v2): two tokens [false, true], one label with weight
/// row(true) - row(false), so sigmoid(score) equals the softmax probability of the true token over the two.</item>
/// <item><c>no_post_processing</c> (bge-reranker-v2-gemma): one label per token, its lm_head row.</item>
/// </list>
/// <c>is_original_qwen3_reranker</c> means from_2_way_softmax over ["no", "yes"], as vLLM's Qwen3 config check sets it.
/// </summary>
public sealed record SeqClsConversion(string Method, string[] Tokens)
{
    public const string From2WaySoftmax = "from_2_way_softmax";
    public const string NoPostProcessing = "no_post_processing";
    static readonly string[] Methods = [From2WaySoftmax, NoPostProcessing];

    public int NumLabels => Method == From2WaySoftmax ? 1 : Tokens.Length;

    /// <summary>The conversion the config asks for, or null when it names neither tokens nor a method.</summary>
    public static SeqClsConversion? From(ModelConfig config)
    {
        string? method = config.StringField("method");
        var tokenNode = config.Field("classifier_from_token");
        if (config.BoolField("is_original_qwen3_reranker") == true) method ??= From2WaySoftmax;
        if (method == null && tokenNode == null) return null;
        if (tokenNode is not JsonArray array || array.Count == 0 || array.Any(t => t is not JsonValue v || !v.TryGetValue<string>(out _)))
            throw new ModelConfigException($"{config.Architecture}: classifier_from_token must be a non-empty list of token strings (method '{method}')");
        var tokens = array.Select(t => t!.GetValue<string>()).ToArray();
        if (method == null)
            throw new ModelConfigException($"{config.Architecture}: classifier_from_token is set but 'method' is not; it must be one of {string.Join(", ", Methods)}");
        if (!Methods.Contains(method))
            throw new ModelConfigException($"{config.Architecture}: method '{method}' is not supported; it must be one of {string.Join(", ", Methods)}");
        if (method == From2WaySoftmax && tokens.Length != 2)
            throw new ModelConfigException($"{config.Architecture}: {From2WaySoftmax} needs two classifier_from_token entries [false, true], got {tokens.Length}");
        return new SeqClsConversion(method, tokens);
    }

    /// <summary>The tokens' ids in the tokenizer of the model directory.</summary>
    public int[] TokenIds(ModelConfig config)
    {
        var dir = config.ModelDir ?? throw new ModelConfigException($"{config.Architecture}: classifier_from_token needs the model's tokenizer, and the config has no model directory");
        var tokenizer = HfTokenizer.Load(dir);
        return Tokens.Select(t => tokenizer.TokenToId(t) is int id && id < config.VocabSize ? id
            : throw new ModelConfigException($"{config.Architecture}: classifier_from_token '{t}' is not a token of the tokenizer in {dir}")).ToArray();
    }

    /// <summary>'score.weight' [NumLabels, hidden] in float32 from the lm_head [vocab, hidden] and the tokens' ids.</summary>
    public Tensor ScoreWeight(Tensor lmHead, int[] tokenIds)
    {
        using var scope = NewDisposeScope();
        var rows = lmHead.index_select(0, torch.tensor(tokenIds.Select(i => (long)i).ToArray(), device: lmHead.device)).to_type(ScalarType.Float32);
        var weight = Method == From2WaySoftmax ? rows[1].sub(rows[0]).unsqueeze(0) : rows;
        return weight.contiguous().MoveToOuterDisposeScope();
    }
}
