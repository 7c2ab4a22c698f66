using System.Text.Json.Nodes;
using Pipeline.Models.Config;
using Pipeline.Models.Loading;
using Pipeline.Models.Pooling;
using Pipeline.Models.Tokenizers;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// vLLM's GritLM (parasail-ai/GritLM-7B-vllm): a Llama/Mistral decoder run as a pooling model with bidirectional
/// attention (is_causal false, no sliding window) whose embedding is the normalized MEAN of the hidden states after
/// the instruction (<see cref="GritLMInstruction"/>).
/// </summary>
public sealed class GritLM : IPoolingModel
{
    readonly DecoderEmbeddingModel _decoder;
    readonly GritLMInstruction _instruction;

    public GritLM(ModelConfig config, DecoderFactory createDecoder, IWeightSource weights, ScalarType dtype, Device device)
    {
        var dir = config.ModelDir ?? throw new ModelConfigException("GritLM needs its tokenizer to find instructions, and the config has no model directory");
        _instruction = new GritLMInstruction(HfTokenizer.Load(dir), dir);
        var raw = (JsonObject)config.Raw.DeepClone();
        raw["is_causal"] = false;
        raw["sliding_window"] = null;
        var encoder = config with { Raw = raw, SlidingWindow = null, SlidingLayers = new bool[config.NumHiddenLayers] };
        _decoder = new DecoderEmbeddingModel(encoder, createDecoder, DecoderHead.None, weights, dtype, device);
    }

    public ModelConfig Config => _decoder.Config;
    public ScalarType DType => _decoder.DType;
    public Device Device => _decoder.Device;
    public bool IsEncoder => false;
    public int MaxInputLength => _decoder.MaxInputLength;
    public int NumLabels => 0;
    public PoolingType ClassifierPooling => PoolingType.MEAN;
    public PoolingType RewardPooling => PoolingType.ALL;
    public int OutputSize => _decoder.OutputSize;
    public PoolingType? DefaultEmbedPooling => PoolingType.MEAN;
    public int InstructionLength(int[] tokenIds) => _instruction.Length(tokenIds);
    public Tensor HiddenStates(IReadOnlyList<PoolingInput> inputs) => _decoder.HiddenStates(inputs);
    public Tensor ClassifierHead(Tensor pooled) => throw new PoolingException("GritLM has no classification head; use embed");
    public void Dispose() => _decoder.Dispose();
}
