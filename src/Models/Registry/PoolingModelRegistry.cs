using Pipeline.Models.Architectures;
using Pipeline.Models.Config;
using Pipeline.Models.Loading;
using Pipeline.Models.Pooling;
using static TorchSharp.torch;

namespace Pipeline.Models.Registry;

/// <summary>One supported pooling architecture: the tasks it serves and how to build it.</summary>
public sealed record PoolingArchitectureEntry(string Architecture, string Family, string[] Tasks, string ExampleModels,
    Func<ModelConfig, IWeightSource, ScalarType, Device, IPoolingModel> Create);

/// <summary>Architectures served as pooling models (embed, classify, score, reward): encoders and decoder backbones.</summary>
public static class PoolingModelRegistry
{
    static readonly string[] EmbedTasks = ["embed", "reward"];
    static readonly string[] ClassifyTasks = ["classify", "score"];
    static readonly string[] RewardTasks = ["reward"];

    static readonly PoolingArchitectureEntry[] Entries =
    [
        Encoder("BertModel", EncoderFamily.Bert, EncoderHead.None, "sentence-transformers/all-MiniLM-L6-v2, BAAI/bge-base-en-v1.5"),
        Encoder("RobertaModel", EncoderFamily.Roberta, EncoderHead.None, "sentence-transformers/all-distilroberta-v1"),
        Encoder("XLMRobertaModel", EncoderFamily.XLMRoberta, EncoderHead.None, "intfloat/multilingual-e5-base, BAAI/bge-m3"),
        Encoder("BertForSequenceClassification", EncoderFamily.Bert, EncoderHead.BertPoolerClassifier, "cross-encoder/ms-marco-MiniLM-L-6-v2"),
        Encoder("RobertaForSequenceClassification", EncoderFamily.Roberta, EncoderHead.RobertaClassifier, "cardiffnlp/twitter-roberta-base-sentiment"),
        Encoder("XLMRobertaForSequenceClassification", EncoderFamily.XLMRoberta, EncoderHead.RobertaClassifier, "BAAI/bge-reranker-v2-m3"),
        new("ModernBertModel", "modernbert", EmbedTasks, "Alibaba-NLP/gte-modernbert-base, nomic-ai/modernbert-embed-base",
            (c, w, t, d) => new ModernBertModel(c, classifier: false, w, t, d)),
        new("ModernBertForSequenceClassification", "modernbert", ClassifyTasks, "Alibaba-NLP/gte-reranker-modernbert-base",
            (c, w, t, d) => new ModernBertModel(c, classifier: true, w, t, d)),
        Decoder("LlamaModel", "LlamaForCausalLM", DecoderHead.None, "intfloat/e5-mistral-7b-instruct (Llama backbone)"),
        Decoder("MistralModel", "MistralForCausalLM", DecoderHead.None, "intfloat/e5-mistral-7b-instruct"),
        Decoder("Qwen2Model", "Qwen2ForCausalLM", DecoderHead.None, "Alibaba-NLP/gte-Qwen2-1.5B-instruct"),
        Decoder("Qwen3Model", "Qwen3ForCausalLM", DecoderHead.None, "Qwen/Qwen3-Embedding-0.6B"),
        Decoder("Qwen3ForSequenceClassification", "Qwen3ForCausalLM", DecoderHead.SequenceClassifier, "tomaarsen/Qwen3-Reranker-0.6B-seq-cls, Qwen/Qwen3-Reranker-0.6B (classifier_from_token)"),
        // Causal LMs with classifier_from_token + method in config.json or --hf-overrides: score from lm_head rows.
        Decoder("Qwen2ForSequenceClassification", "Qwen2ForCausalLM", DecoderHead.SequenceClassifier, "mixedbread-ai/mxbai-rerank-base-v2 (classifier_from_token)"),
        Decoder("GemmaForSequenceClassification", "GemmaForCausalLM", DecoderHead.SequenceClassifier, "BAAI/bge-reranker-v2-gemma (classifier_from_token)"),
        Decoder("GPT2ForSequenceClassification", "GPT2LMHeadModel", DecoderHead.SequenceClassifier, "nie3e/sentiment-polish-gpt2-small"),
        Decoder("JambaForSequenceClassification", "JambaForCausalLM", DecoderHead.SequenceClassifier, "ai21labs/Jamba-tiny-reward-dev"),
        Decoder("Gemma2Model", "Gemma2ForCausalLM", DecoderHead.None, "BAAI/bge-multilingual-gemma2"),
        GritLMEntry("GritLM", "LlamaForCausalLM", "parasail-ai/GritLM-7B-vllm"),
        // As vLLM: one reward per token (ALL), and per step as the probabilities of two labels (STEP).
        Reward("Qwen2ForRewardModel", 1, PoolingType.ALL, "Qwen/Qwen2.5-Math-RM-72B"),
        Reward("Qwen2ForProcessRewardModel", 2, PoolingType.STEP, "Qwen/Qwen2.5-Math-PRM-7B"),
    ];

    static PoolingArchitectureEntry Encoder(string arch, EncoderFamily family, EncoderHead head, string examples) =>
        new(arch, family.Name, head == EncoderHead.None ? EmbedTasks : ClassifyTasks, examples,
            (c, w, t, d) => new BertModel(c, family, head, w, t, d));

    /// <param name="causalLM">The generative architecture whose decoder this backbone is.</param>
    static PoolingArchitectureEntry Decoder(string arch, string causalLM, DecoderHead head, string examples)
    {
        var decoder = ModelRegistry.Get(causalLM);
        return new(arch, decoder.Family, head == DecoderHead.SequenceClassifier ? ClassifyTasks : EmbedTasks, examples,
            (c, w, t, d) => new DecoderEmbeddingModel(c, decoder.Create, head, w, t, d));
    }

    static PoolingArchitectureEntry GritLMEntry(string arch, string causalLM, string examples)
    {
        var decoder = ModelRegistry.Get(causalLM);
        return new(arch, decoder.Family, EmbedTasks, examples, (c, w, t, d) => new GritLM(c, decoder.Create, w, t, d));
    }

    static PoolingArchitectureEntry Reward(string arch, int numLabels, PoolingType pooling, string examples)
    {
        var decoder = ModelRegistry.Get("Qwen2ForCausalLM");
        return new(arch, decoder.Family, RewardTasks, examples,
            (c, w, t, d) => new DecoderEmbeddingModel(c, decoder.Create, DecoderHead.TokenReward, w, t, d, numLabels, pooling));
    }

    /// <summary>
    /// A causal LM as a pooling model (vLLM's as_embedding_model / as_seq_cls_model / as_reward_model): lm_head dropped;
    /// embed and reward pool the final hidden states, classify adds the checkpoint's 'score' on the last token.
    /// </summary>
    public static PoolingArchitectureEntry Converted(ArchitectureEntry generative, ConvertType convert)
    {
        if (!generative.Convertible) throw new UnsupportedArchitectureException($"{generative.Architecture} cannot be converted to a pooling model");
        var (head, tasks) = convert switch
        {
            ConvertType.Embed => (DecoderHead.None, EmbedTasks),
            ConvertType.Classify => (DecoderHead.SequenceClassifier, ClassifyTasks),
            ConvertType.Reward => (DecoderHead.None, RewardTasks),
            _ => throw new ArgumentOutOfRangeException(nameof(convert), convert, "not a pooling conversion"),
        };
        return new(generative.Architecture, generative.Family, tasks, generative.ExampleModels,
            (c, w, t, d) => new DecoderEmbeddingModel(c, generative.Create, head, w, t, d));
    }

    /// <summary>The pooling architectures built into Pipeline.Models.</summary>
    public static IReadOnlyList<PoolingArchitectureEntry> BuiltIn => Entries;

    /// <summary>Pooling architectures registered by model plugins, in load order.</summary>
    public static IReadOnlyList<PoolingArchitectureEntry> Plugins => PluginRegistrations.PoolingModels;

    /// <summary>Built-in and plugin pooling architectures.</summary>
    public static IReadOnlyList<PoolingArchitectureEntry> Supported => [.. Entries, .. PluginRegistrations.PoolingModels];

    public static PoolingArchitectureEntry? Find(string architecture) =>
        Entries.FirstOrDefault(e => e.Architecture == architecture) ?? PluginRegistrations.PoolingModels.FirstOrDefault(e => e.Architecture == architecture);

    public static bool IsPooling(string architecture) => Find(architecture) != null;

    public static PoolingArchitectureEntry Get(string architecture) =>
        Find(architecture) ?? throw UnsupportedArchitectureException.For(architecture);
}
