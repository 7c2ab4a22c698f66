using Pipeline.Models.Architectures;
using Pipeline.Models.Config;
using Pipeline.Models.Loading;
using Pipeline.Models.Pooling;
using static TorchSharp.torch;

namespace Pipeline.Models.Registry;

/// <summary>
/// One supported architecture and what it can do (vLLM's one model registry, whose classes declare their interfaces):
/// <paramref name="Create"/> builds it as a causal LM (it generates), <see cref="CreatePooling"/> as a pooling model (it
/// embeds, classifies, scores or rewards); <paramref name="Tasks"/> are the tasks those serve. <paramref name="Convertible"/>:
/// --runner pooling can turn a causal LM into a pooling model (see <see cref="RunnerSelection"/>).
/// </summary>
public sealed record ArchitectureEntry(string Architecture, string Family, string[] Tasks, string ExampleModels,
    DecoderFactory? Create, bool Convertible = true)
{
    /// <summary>Builds it as a pooling model; null when it only generates (it may still be converted).</summary>
    public PoolingModelFactory? CreatePooling { get; init; }

    public bool Generates => Create != null;
    public bool Pools => CreatePooling != null;

    /// <summary>The causal-LM factory, or a one-line error for a pooling-only architecture.</summary>
    public DecoderFactory CausalLM => Create ?? throw new ArgumentException(
        $"{Architecture} is a pooling model ({string.Join(", ", Tasks)}), not a generative one: serve it with --runner pooling (or auto)");

    /// <summary>The pooling factory, or a one-line error for an architecture that only generates.</summary>
    public PoolingModelFactory PoolingModel => CreatePooling ?? throw new ArgumentException(
        $"{Architecture} runs as a generative model, not a pooling model: use --runner pooling with --convert embed, classify or reward");
}

/// <summary>
/// The one table from architecture names to implementations (`pipeline models --supported`): causal LMs first, then
/// the pooling models (encoders, and decoder backbones with pooling heads), each entry stating what it can do.
/// </summary>
public static class ModelRegistry
{
    static readonly string[] EmbedTasks = ["embed", "reward"];
    static readonly string[] ClassifyTasks = ["classify", "score"];
    static readonly string[] RewardTasks = ["reward"];

    static readonly ArchitectureEntry[] Entries =
    [
        Decoder("LlamaForCausalLM", "llama", "meta-llama/Llama-3.1-8B-Instruct, TinyLlama", (c, w, t, d) => new LlamaForCausalLM(c, w, t, d)),
        Decoder("LlavaForConditionalGeneration", "llava", "llava-hf/llava-1.5-7b-hf, mistral-community/pixtral-12b (images: docs/multimodal.md)", (c, w, t, d) => new LlavaForConditionalGeneration(c, w, t, d)) with { Convertible = false },
        Decoder("LlavaNextForConditionalGeneration", "llava_next", "llava-hf/llava-v1.6-mistral-7b-hf (images: docs/multimodal.md)", (c, w, t, d) => new LlavaNextForConditionalGeneration(c, w, t, d)) with { Convertible = false }, // pooling would not see the images
        Decoder("LlavaOnevisionForConditionalGeneration", "llava_onevision", "llava-hf/llava-onevision-qwen2-7b-ov-hf (images: docs/multimodal.md)", (c, w, t, d) => new LlavaOnevisionForConditionalGeneration(c, w, t, d)) with { Convertible = false },
        Decoder("AyaVisionForConditionalGeneration", "aya_vision", "CohereLabs/aya-vision-8b (images: docs/multimodal.md)", (c, w, t, d) => new AyaVisionForConditionalGeneration(c, w, t, d)) with { Convertible = false },
        Decoder("FuyuForCausalLM", "fuyu", "adept/fuyu-8b (images: docs/multimodal.md)", (c, w, t, d) => new FuyuForCausalLM(c, w, t, d)) with { Convertible = false },
        Decoder("Blip2ForConditionalGeneration", "blip-2", "Salesforce/blip2-opt-2.7b (images: docs/multimodal.md)", (c, w, t, d) => new Blip2ForConditionalGeneration(c, w, t, d)) with { Convertible = false },
        Decoder("Idefics3ForConditionalGeneration", "idefics3", "HuggingFaceM4/Idefics3-8B-Llama3 (images: docs/multimodal.md)", (c, w, t, d) => new Idefics3ForConditionalGeneration(c, w, t, d)) with { Convertible = false },
        Decoder("SmolVLMForConditionalGeneration", "smolvlm", "HuggingFaceTB/SmolVLM2-2.2B-Instruct, HuggingFaceTB/SmolVLM-256M-Instruct (images: docs/multimodal.md)", (c, w, t, d) => new SmolVLMForConditionalGeneration(c, w, t, d)) with { Convertible = false },
        new("WhisperForConditionalGeneration", "whisper", ["transcription"], "openai/whisper-large-v3, openai/whisper-small (speech: docs/speech.md)",
            (c, w, t, d) => new WhisperForConditionalGeneration(c, w, t, d), Convertible: false),
        Decoder("Mistral3ForConditionalGeneration", "mistral3", "mistralai/Mistral-Small-3.1-24B-Instruct-2503 (images: docs/multimodal.md)", (c, w, t, d) => new Mistral3ForConditionalGeneration(c, w, t, d)) with { Convertible = false },
        Decoder("MistralForCausalLM", "mistral", "mistralai/Mistral-7B-Instruct-v0.3", (c, w, t, d) => new LlamaForCausalLM(c, w, t, d)),
        Decoder("Qwen2ForCausalLM", "qwen2", "Qwen/Qwen2.5-7B-Instruct", (c, w, t, d) => new Qwen2ForCausalLM(c, w, t, d)),
        Decoder("Qwen2VLForConditionalGeneration", "qwen2_vl", "Qwen/Qwen2-VL-2B-Instruct, Qwen/Qwen2-VL-7B-Instruct (images: docs/multimodal.md)", (c, w, t, d) => new Qwen2VLForConditionalGeneration(c, w, t, d)),
        Decoder("Qwen2_5_VLForConditionalGeneration", "qwen2_5_vl", "Qwen/Qwen2.5-VL-3B-Instruct, Qwen/Qwen2.5-VL-7B-Instruct (images: docs/multimodal.md)", (c, w, t, d) => new Qwen2_5_VLForConditionalGeneration(c, w, t, d)),
        Decoder("Qwen2AudioForConditionalGeneration", "qwen2_audio", "Qwen/Qwen2-Audio-7B-Instruct (audio: docs/multimodal.md)", (c, w, t, d) => new Qwen2AudioForConditionalGeneration(c, w, t, d)) with { Convertible = false },
        Decoder("Qwen3ForCausalLM", "qwen3", "Qwen/Qwen3-8B", (c, w, t, d) => new Qwen3ForCausalLM(c, w, t, d)),
        Decoder("GemmaForCausalLM", "gemma", "google/gemma-7b, google/gemma-2b-it", (c, w, t, d) => new GemmaForCausalLM(c, w, t, d)),
        Decoder("Gemma2ForCausalLM", "gemma2", "google/gemma-2-9b, google/gemma-2-2b-it", (c, w, t, d) => new Gemma2ForCausalLM(c, w, t, d)),
        Decoder("Gemma3ForCausalLM", "gemma3_text", "google/gemma-3-1b-it, google/gemma-3-270m", (c, w, t, d) => new Gemma3ForCausalLM(c, w, t, d)),
        Decoder("PaliGemmaForConditionalGeneration", "paligemma", "google/paligemma-3b-mix-224, google/paligemma2-3b-pt-224 (images: docs/multimodal.md)", (c, w, t, d) => new PaliGemmaForConditionalGeneration(c, w, t, d)) with { Convertible = false },
        Decoder("Gemma3ForConditionalGeneration", "gemma3", "google/gemma-3-4b-it, google/gemma-3-27b-it (images: docs/multimodal.md)", (c, w, t, d) => new Gemma3ForConditionalGeneration(c, w, t, d)) with { Convertible = false },
        Decoder("Phi3ForCausalLM", "phi3", "microsoft/Phi-3-mini-4k-instruct, microsoft/Phi-3-medium-4k-instruct", (c, w, t, d) => new Phi3ForCausalLM(c, w, t, d)),
        Decoder("PhimoeForCausalLM", "phimoe", "microsoft/Phi-3.5-MoE-instruct", (c, w, t, d) => new PhiMoEForCausalLM(c, w, t, d)),
        Decoder("MixtralForCausalLM", "mixtral", "mistralai/Mixtral-8x7B-Instruct-v0.1", (c, w, t, d) => new MixtralForCausalLM(c, w, t, d)),
        Decoder("DbrxForCausalLM", "dbrx", "databricks/dbrx-instruct", (c, w, t, d) => new DbrxForCausalLM(c, w, t, d)),
        Decoder("GptOssForCausalLM", "gpt_oss", "openai/gpt-oss-20b, openai/gpt-oss-120b", (c, w, t, d) => new GptOssForCausalLM(c, w, t, d)),
        Decoder("Qwen2MoeForCausalLM", "qwen2_moe", "Qwen/Qwen1.5-MoE-A2.7B-Chat", (c, w, t, d) => new Qwen2MoeForCausalLM(c, w, t, d)),
        Decoder("Olmo2ForCausalLM", "olmo2", "allenai/OLMo-2-0425-1B, allenai/OLMo-2-1124-7B", (c, w, t, d) => new Olmo2ForCausalLM(c, w, t, d)),
        Decoder("OlmoeForCausalLM", "olmoe", "allenai/OLMoE-1B-7B-0924-Instruct", (c, w, t, d) => new OlmoeForCausalLM(c, w, t, d)),
        Decoder("GraniteForCausalLM", "granite", "ibm-granite/granite-3.1-8b-instruct, ibm-granite/granite-3.3-2b-instruct", (c, w, t, d) => new GraniteForCausalLM(c, w, t, d)),
        Decoder("GraniteMoeForCausalLM", "granitemoe", "ibm-granite/granite-3.1-3b-a800m-instruct", (c, w, t, d) => new GraniteMoeForCausalLM(c, w, t, d)),
        Decoder("GraniteMoeSharedForCausalLM", "granitemoeshared", "ibm-research/moe-7b-1b-active-shared-experts", (c, w, t, d) => new GraniteMoeSharedForCausalLM(c, w, t, d)),
        Decoder("SmolLM3ForCausalLM", "smollm3", "HuggingFaceTB/SmolLM3-3B", (c, w, t, d) => new SmolLM3ForCausalLM(c, w, t, d)),
        Decoder("ArceeForCausalLM", "arcee", "arcee-ai/AFM-4.5B-Base", (c, w, t, d) => new ArceeForCausalLM(c, w, t, d)),
        Decoder("Starcoder2ForCausalLM", "starcoder2", "bigcode/starcoder2-3b, bigcode/starcoder2-7b", (c, w, t, d) => new Starcoder2ForCausalLM(c, w, t, d)),
        Decoder("GPT2LMHeadModel", "gpt2", "openai-community/gpt2, openai-community/gpt2-xl", (c, w, t, d) => new GPT2LMHeadModel(c, w, t, d)),
        Decoder("GPTBigCodeForCausalLM", "gpt_bigcode", "bigcode/starcoder, bigcode/gpt_bigcode-santacoder", (c, w, t, d) => new GPTBigCodeForCausalLM(c, w, t, d)),
        Decoder("OPTForCausalLM", "opt", "facebook/opt-125m, facebook/opt-350m", (c, w, t, d) => new OPTForCausalLM(c, w, t, d)),
        Decoder("BloomForCausalLM", "bloom", "bigscience/bloom-560m, bigscience/bloomz-7b1", (c, w, t, d) => new BloomForCausalLM(c, w, t, d)),
        Decoder("MptForCausalLM", "mpt", "mosaicml/mpt-7b, mosaicml/mpt-7b-instruct", (c, w, t, d) => new MptForCausalLM(c, w, t, d)),
        Decoder("Qwen3MoeForCausalLM", "qwen3_moe", "Qwen/Qwen3-30B-A3B", (c, w, t, d) => new Qwen3MoeForCausalLM(c, w, t, d)),
        Decoder("GPTJForCausalLM", "gptj", "EleutherAI/gpt-j-6b", (c, w, t, d) => new GPTJForCausalLM(c, w, t, d)),
        Decoder("GPTNeoXForCausalLM", "gpt_neox", "EleutherAI/pythia-1.4b, EleutherAI/gpt-neox-20b", (c, w, t, d) => new GPTNeoXForCausalLM(c, w, t, d)),
        Decoder("Exaone4ForCausalLM", "exaone4", "LGAI-EXAONE/EXAONE-4.0-1.2B, LGAI-EXAONE/EXAONE-4.0-32B", (c, w, t, d) => new Exaone4ForCausalLM(c, w, t, d)),
        Decoder("GlmForCausalLM", "glm", "zai-org/glm-4-9b-chat-hf", (c, w, t, d) => new GlmForCausalLM(c, w, t, d)),
        Decoder("Glm4ForCausalLM", "glm4", "zai-org/GLM-4-9B-0414, zai-org/GLM-4-32B-0414", (c, w, t, d) => new Glm4ForCausalLM(c, w, t, d)),
        Decoder("Ernie4_5ForCausalLM", "ernie4_5", "baidu/ERNIE-4.5-0.3B-PT", (c, w, t, d) => new Ernie4_5ForCausalLM(c, w, t, d)),
        Decoder("Ernie4_5_MoeForCausalLM", "ernie4_5_moe", "baidu/ERNIE-4.5-21B-A3B-PT", (c, w, t, d) => new Ernie4_5_MoeForCausalLM(c, w, t, d)),
        Decoder("SeedOssForCausalLM", "seed_oss", "ByteDance-Seed/Seed-OSS-36B-Instruct", (c, w, t, d) => new SeedOssForCausalLM(c, w, t, d)),
        Decoder("HunYuanDenseV1ForCausalLM", "hunyuan_v1_dense", "tencent/Hunyuan-7B-Instruct", (c, w, t, d) => new HunYuanDenseV1ForCausalLM(c, w, t, d)),
        Decoder("HunYuanMoEV1ForCausalLM", "hunyuan_v1_moe", "tencent/Hunyuan-A13B-Instruct", (c, w, t, d) => new HunYuanMoEV1ForCausalLM(c, w, t, d)),
        Decoder("ApertusForCausalLM", "apertus", "swiss-ai/Apertus-8B-Instruct-2509", (c, w, t, d) => new ApertusForCausalLM(c, w, t, d)),
        Decoder("OlmoForCausalLM", "olmo", "allenai/OLMo-1B-hf, allenai/OLMo-7B-0724-hf", (c, w, t, d) => new OlmoForCausalLM(c, w, t, d)),
        Decoder("NemotronForCausalLM", "nemotron", "nvidia/Minitron-8B-Base, nvidia/Nemotron-4-340B-Base", (c, w, t, d) => new NemotronForCausalLM(c, w, t, d)),
        Decoder("FalconForCausalLM", "falcon", "tiiuae/falcon-7b, tiiuae/falcon-40b, tiiuae/falcon-180B", (c, w, t, d) => new FalconForCausalLM(c, w, t, d)),
        Decoder("PhiForCausalLM", "phi", "microsoft/phi-2, microsoft/phi-1_5", (c, w, t, d) => new PhiForCausalLM(c, w, t, d)),
        Decoder("PersimmonForCausalLM", "persimmon", "adept/persimmon-8b-base, adept/persimmon-8b-chat", (c, w, t, d) => new PersimmonForCausalLM(c, w, t, d)),
        Decoder("StableLmForCausalLM", "stablelm", "stabilityai/stablelm-2-1_6b, stabilityai/stablelm-3b-4e1t", (c, w, t, d) => new StableLmForCausalLM(c, w, t, d)),
        Decoder("CohereForCausalLM", "cohere", "CohereLabs/c4ai-command-r-v01, CohereLabs/aya-expanse-8b", (c, w, t, d) => new CohereForCausalLM(c, w, t, d)),
        Decoder("Cohere2ForCausalLM", "cohere2", "CohereLabs/c4ai-command-r7b-12-2024, CohereLabs/c4ai-command-a-03-2025", (c, w, t, d) => new Cohere2ForCausalLM(c, w, t, d)),
        Decoder("DeepseekV2ForCausalLM", "deepseek_v2", "deepseek-ai/DeepSeek-V2-Lite-Chat, deepseek-ai/DeepSeek-V2-Chat", (c, w, t, d) => new DeepseekV2ForCausalLM(c, w, t, d)),
        Decoder("DeepseekV3ForCausalLM", "deepseek_v3", "deepseek-ai/DeepSeek-V3, deepseek-ai/DeepSeek-R1", (c, w, t, d) => new DeepseekV3ForCausalLM(c, w, t, d)),
        Decoder("Dots1ForCausalLM", "dots1", "rednote-hilab/dots.llm1.inst", (c, w, t, d) => new Dots1ForCausalLM(c, w, t, d)),
        Decoder("MambaForCausalLM", "mamba", "state-spaces/mamba-130m-hf, state-spaces/mamba-2.8b-hf", (c, w, t, d) => new MambaForCausalLM(c, w, t, d)),
        Decoder("FalconMambaForCausalLM", "falcon_mamba", "tiiuae/falcon-mamba-7b", (c, w, t, d) => new FalconMambaForCausalLM(c, w, t, d)),
        Decoder("Mamba2ForCausalLM", "mamba2", "mistralai/Mamba-Codestral-7B-v0.1", (c, w, t, d) => new Mamba2ForCausalLM(c, w, t, d)),
        Decoder("JambaForCausalLM", "jamba", "ai21labs/AI21-Jamba-Mini-1.7, ai21labs/AI21-Jamba-Large-1.7", (c, w, t, d) => new JambaForCausalLM(c, w, t, d)),
        Decoder("BambaForCausalLM", "bamba", "ibm-ai-platform/Bamba-9B", (c, w, t, d) => new BambaForCausalLM(c, w, t, d)),
        Decoder("GraniteMoeHybridForCausalLM", "granitemoehybrid", "ibm-granite/granite-4.0-tiny-preview", (c, w, t, d) => new GraniteMoeHybridForCausalLM(c, w, t, d)),
        Decoder("FalconH1ForCausalLM", "falcon_h1", "tiiuae/Falcon-H1-0.5B-Instruct, tiiuae/Falcon-H1-7B-Instruct", (c, w, t, d) => new FalconH1ForCausalLM(c, w, t, d)),
        Decoder("NemotronHForCausalLM", "nemotron_h", "nvidia/Nemotron-H-8B-Base-8K, nvidia/NVIDIA-Nemotron-Nano-9B-v2", (c, w, t, d) => new NemotronHForCausalLM(c, w, t, d)),
    ];

    /// <summary>
    /// vLLM's architecture names where transformers' class names (what config.json says) differ: one entry answers to
    /// both. An alias whose entry has not landed yet answers nothing.
    /// </summary>
    static readonly (string Alias, string Architecture)[] Aliases =
    [
        ("MPTForCausalLM", "MptForCausalLM"),
        ("PhiMoEForCausalLM", "PhimoeForCausalLM"),
        ("OLMoForCausalLM", "OlmoForCausalLM"),
        ("OLMo2ForCausalLM", "Olmo2ForCausalLM"),
        ("OLMoEForCausalLM", "OlmoeForCausalLM"),
        ("Ernie4_5_ForCausalLM", "Ernie4_5ForCausalLM"),
        ("RWForCausalLM", "FalconForCausalLM"),
        ("PixtralForConditionalGeneration", "LlavaForConditionalGeneration"), // vLLM's name for Pixtral-12B; the transformers layout is LLaVA   // Falcon's remote-code configs (tiiuae/falcon-40b before transformers had it)
    ];

    static ArchitectureEntry Decoder(string arch, string family, string examples, DecoderFactory create) =>
        new(arch, family, ["generate"], examples, create);

    /// <summary>Pooling models: encoders, and decoder backbones (named by their causal LM above) with pooling heads.</summary>
    static readonly ArchitectureEntry[] PoolingEntries =
    [
        Encoder("BertModel", EncoderFamily.Bert, EncoderHead.None, "sentence-transformers/all-MiniLM-L6-v2, BAAI/bge-base-en-v1.5"),
        Encoder("RobertaModel", EncoderFamily.Roberta, EncoderHead.None, "sentence-transformers/all-distilroberta-v1"),
        Encoder("XLMRobertaModel", EncoderFamily.XLMRoberta, EncoderHead.None, "intfloat/multilingual-e5-base, BAAI/bge-m3"),
        Encoder("BertForSequenceClassification", EncoderFamily.Bert, EncoderHead.BertPoolerClassifier, "cross-encoder/ms-marco-MiniLM-L-6-v2"),
        Encoder("RobertaForSequenceClassification", EncoderFamily.Roberta, EncoderHead.RobertaClassifier, "cardiffnlp/twitter-roberta-base-sentiment"),
        Encoder("XLMRobertaForSequenceClassification", EncoderFamily.XLMRoberta, EncoderHead.RobertaClassifier, "BAAI/bge-reranker-v2-m3"),
        Pooling("ModernBertModel", "modernbert", EmbedTasks, "Alibaba-NLP/gte-modernbert-base, nomic-ai/modernbert-embed-base",
            (c, w, t, d) => new ModernBertModel(c, classifier: false, w, t, d)),
        Pooling("ModernBertForSequenceClassification", "modernbert", ClassifyTasks, "Alibaba-NLP/gte-reranker-modernbert-base",
            (c, w, t, d) => new ModernBertModel(c, classifier: true, w, t, d)),
        Backbone("LlamaModel", "LlamaForCausalLM", DecoderHead.None, "intfloat/e5-mistral-7b-instruct (Llama backbone)"),
        Backbone("MistralModel", "MistralForCausalLM", DecoderHead.None, "intfloat/e5-mistral-7b-instruct"),
        Backbone("Qwen2Model", "Qwen2ForCausalLM", DecoderHead.None, "Alibaba-NLP/gte-Qwen2-1.5B-instruct"),
        Backbone("Qwen3Model", "Qwen3ForCausalLM", DecoderHead.None, "Qwen/Qwen3-Embedding-0.6B"),
        Backbone("Qwen3ForSequenceClassification", "Qwen3ForCausalLM", DecoderHead.SequenceClassifier, "tomaarsen/Qwen3-Reranker-0.6B-seq-cls, Qwen/Qwen3-Reranker-0.6B (classifier_from_token)"),
        // Causal LMs with classifier_from_token + method in config.json or --hf-overrides: score from lm_head rows.
        Backbone("Qwen2ForSequenceClassification", "Qwen2ForCausalLM", DecoderHead.SequenceClassifier, "mixedbread-ai/mxbai-rerank-base-v2 (classifier_from_token)"),
        Backbone("GemmaForSequenceClassification", "GemmaForCausalLM", DecoderHead.SequenceClassifier, "BAAI/bge-reranker-v2-gemma (classifier_from_token)"),
        Backbone("GPT2ForSequenceClassification", "GPT2LMHeadModel", DecoderHead.SequenceClassifier, "nie3e/sentiment-polish-gpt2-small"),
        Backbone("JambaForSequenceClassification", "JambaForCausalLM", DecoderHead.SequenceClassifier, "ai21labs/Jamba-tiny-reward-dev"),
        Backbone("Gemma2Model", "Gemma2ForCausalLM", DecoderHead.None, "BAAI/bge-multilingual-gemma2"),
        GritLMEntry("GritLM", "LlamaForCausalLM", "parasail-ai/GritLM-7B-vllm"),
        // As vLLM: one reward per token (ALL), and per step as the probabilities of two labels (STEP).
        Reward("Qwen2ForRewardModel", 1, PoolingType.ALL, "Qwen/Qwen2.5-Math-RM-72B"),
        Reward("Qwen2ForProcessRewardModel", 2, PoolingType.STEP, "Qwen/Qwen2.5-Math-PRM-7B"),
    ];

    /// <summary>Every built-in entry, causal LMs then pooling models.</summary>
    static readonly ArchitectureEntry[] All = [.. Entries, .. PoolingEntries];

    static ArchitectureEntry Pooling(string arch, string family, string[] tasks, string examples, PoolingModelFactory create) =>
        new(arch, family, tasks, examples, Create: null, Convertible: false) { CreatePooling = create };

    static ArchitectureEntry Encoder(string arch, EncoderFamily family, EncoderHead head, string examples) =>
        Pooling(arch, family.Name, head == EncoderHead.None ? EmbedTasks : ClassifyTasks, examples,
            (c, w, t, d) => new BertModel(c, family, head, w, t, d));

    /// <summary>The causal LM of a backbone entry (the table above is complete when the pooling entries are built).</summary>
    static ArchitectureEntry CausalLMEntry(string causalLM) => Entries.First(e => e.Architecture == causalLM);

    /// <param name="causalLM">The generative architecture whose decoder this backbone is.</param>
    static ArchitectureEntry Backbone(string arch, string causalLM, DecoderHead head, string examples)
    {
        var decoder = CausalLMEntry(causalLM);
        return Pooling(arch, decoder.Family, head == DecoderHead.SequenceClassifier ? ClassifyTasks : EmbedTasks, examples,
            (c, w, t, d) => new DecoderEmbeddingModel(c, decoder.CausalLM, head, w, t, d));
    }

    static ArchitectureEntry GritLMEntry(string arch, string causalLM, string examples)
    {
        var decoder = CausalLMEntry(causalLM);
        return Pooling(arch, decoder.Family, EmbedTasks, examples, (c, w, t, d) => new GritLM(c, decoder.CausalLM, w, t, d));
    }

    static ArchitectureEntry Reward(string arch, int numLabels, PoolingType pooling, string examples)
    {
        var decoder = CausalLMEntry("Qwen2ForCausalLM");
        return Pooling(arch, decoder.Family, RewardTasks, examples,
            (c, w, t, d) => new DecoderEmbeddingModel(c, decoder.CausalLM, DecoderHead.TokenReward, w, t, d, numLabels, pooling));
    }

    /// <summary>
    /// A causal LM as a pooling model (vLLM's as_embedding_model / as_seq_cls_model / as_reward_model): lm_head dropped;
    /// embed and reward pool the final hidden states, classify adds the checkpoint's 'score' on the last token.
    /// </summary>
    public static ArchitectureEntry Converted(ArchitectureEntry generative, ConvertType convert)
    {
        if (!generative.Generates || !generative.Convertible)
            throw new UnsupportedArchitectureException($"{generative.Architecture} cannot be converted to a pooling model");
        var (head, tasks) = convert switch
        {
            ConvertType.Embed => (DecoderHead.None, EmbedTasks),
            ConvertType.Classify => (DecoderHead.SequenceClassifier, ClassifyTasks),
            ConvertType.Reward => (DecoderHead.None, RewardTasks),
            _ => throw new ArgumentOutOfRangeException(nameof(convert), convert, "not a pooling conversion"),
        };
        return Pooling(generative.Architecture, generative.Family, tasks, generative.ExampleModels,
            (c, w, t, d) => new DecoderEmbeddingModel(c, generative.CausalLM, head, w, t, d));
    }

    /// <summary>The architectures built into Pipeline.Models: causal LMs, then pooling models.</summary>
    public static IReadOnlyList<ArchitectureEntry> BuiltIn => All;

    /// <summary>Architectures registered by model plugins (<see cref="ModelPlugins"/>), in load order.</summary>
    public static IReadOnlyList<ArchitectureEntry> Plugins => PluginRegistrations.Entries;

    /// <summary>Built-in and plugin architectures.</summary>
    public static IReadOnlyList<ArchitectureEntry> Supported => [.. All, .. PluginRegistrations.Entries];

    /// <summary>The other names of <paramref name="architecture"/>'s entry (vLLM's spelling where it differs).</summary>
    public static IEnumerable<string> AliasesOf(string architecture) =>
        Aliases.Where(a => a.Architecture == architecture).Select(a => a.Alias);

    /// <summary>The built-in entry answering to <paramref name="name"/>, by its own name or an alias.</summary>
    public static ArchitectureEntry? FindBuiltIn(string name) =>
        All.FirstOrDefault(e => e.Architecture == name)
        ?? (Aliases.FirstOrDefault(a => a.Alias == name) is { Alias: not null } alias ? All.FirstOrDefault(e => e.Architecture == alias.Architecture) : null);

    public static ArchitectureEntry? Find(string name) =>
        FindBuiltIn(name) ?? PluginRegistrations.Entries.FirstOrDefault(e => e.Architecture == name);

    public static ArchitectureEntry Get(string architecture) =>
        Find(architecture) ?? throw UnsupportedArchitectureException.For(architecture);

    /// <summary>Whether <paramref name="architecture"/> is served as a pooling model without conversion.</summary>
    public static bool IsPooling(string architecture) => Find(architecture)?.Pools == true;
}

/// <summary>config.json names an architecture neither built in nor registered by a plugin.</summary>
public sealed class UnsupportedArchitectureException(string message) : Exception(message)
{
    /// <summary>One line: the architecture, and where the supported ones are listed.</summary>
    public static UnsupportedArchitectureException For(string architecture) => new(
        $"Model architecture '{architecture}' is not supported; the supported architectures are listed in docs/supported-models.md "
        + "and by `pipeline models --supported` (a model plugin can add one: --model-plugin PATH.dll)");
}
