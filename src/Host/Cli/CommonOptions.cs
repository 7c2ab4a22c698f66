namespace Pipeline.Host.Cli;

/// <summary>Options every model-loading command shares, named as in vLLM.</summary>
public static class CommonOptions
{
    public static readonly OptionSpec[] Model =
    [
        new("revision", "model revision (branch, tag or commit) to use from the Hugging Face cache"),
        new("tokenizer", "tokenizer directory, when it is not the model directory"),
        new("skip-tokenizer-init", "do not load a tokenizer; prompts must be token ids", IsFlag: true),
        new("dtype", "weight and activation dtype: auto, float32, float16, bfloat16", "auto"),
        new("device", "cpu, cuda or cuda:N (auto: cuda when available)", "auto"),
        new("libtorch", "libtorch folder for CUDA (else $PIPELINE_LIBTORCH, else python3's torch)"),
        new("load-format", "auto/safetensors (read weights) or dummy (random weights, config.json only)", "auto"),
        new("hf-overrides", "JSON object merged into config.json before use", Metavar: "JSON"),
        new("generation-config", "auto: apply generation_config.json's sampling defaults; vllm: ignore them", "auto"),
        new("max-model-len", "longest prompt + output in tokens (default: derived from config.json)"),
        new("seed", "random seed: sampling of every request (prompt i uses seed + i) and dummy weights", "0"),
    ];
}
