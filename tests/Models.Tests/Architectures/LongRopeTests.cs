using System.Text.Json.Nodes;
using Pipeline.Models.Config;
using Pipeline.Models.Forward;
using Pipeline.Models.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Tests.Architectures;

/// <summary>LongRoPE (Phi-3): the short or long factors per token, and the attention factor on cos and sin.</summary>
public class LongRopeTests
{
    static readonly double[] Short = [1.0, 1.1, 1.3, 1.6];
    static readonly double[] Long = [1.0, 1.5, 2.2, 3.5];

    static ModelConfig Config(string ropeJson) => ModelConfig.FromJson(JsonNode.Parse($$"""
        {"architectures": ["Phi3ForCausalLM"], "vocab_size": 32, "hidden_size": 16, "intermediate_size": 32,
         "num_hidden_layers": 1, "num_attention_heads": 2, "max_position_embeddings": 64,
         "original_max_position_embeddings": 8, "rope_scaling": {{ropeJson}} }
        """)!.AsObject());

    /// <summary>cos of position p for frequency i, as transformers computes it.</summary>
    static double Cos(double[] ext, int i, int p, double attention) => Math.Cos(p / (ext[i] * Math.Pow(10000.0, 2.0 * i / 8))) * attention;

    [Fact]
    public void ShortPromptsUseShortFactorsAndLongOnesLongFactors()
    {
        var c = Config("""{"type": "longrope", "short_factor": [1.0, 1.1, 1.3, 1.6], "long_factor": [1.0, 1.5, 2.2, 3.5]}""");
        Assert.Equal("longrope", c.Rope.RopeType);
        Assert.Equal(8, c.Rope.OriginalMaxPositionEmbeddings);
        double attention = Math.Sqrt(1 + Math.Log(64.0 / 8) / Math.Log(8));
        using var rope = new RotaryEmbedding(c, torch.CPU);
        Assert.Null(rope.CosSinCache(64));
        // A 6-token prompt (short factors), then a 10-token prompt (long), both prefilled in one batch.
        var seqs = new[] { new SequenceSlice(0, 6, 6, [], NumPromptTokens: 6), new SequenceSlice(6, 10, 10, [], NumPromptTokens: 10) };
        using var positions = torch.tensor(Enumerable.Range(0, 6).Concat(Enumerable.Range(0, 10)).Select(p => (long)p).ToArray());
        var (cos, _) = rope.ForPositions(positions, seqs, ScalarType.Float32);
        var got = cos.data<float>().ToArray();
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(Cos(Short, i, 5, attention), got[5 * 8 + i], 5);
            Assert.Equal(Cos(Long, i, 9, attention), got[15 * 8 + i], 5);
        }
        // Decoding the first sequence: position 7 is still within 8 positions, position 8 is past them.
        var decode = new[] { new SequenceSlice(0, 1, 8, [], NumPromptTokens: 6), new SequenceSlice(1, 1, 9, [], NumPromptTokens: 6) };
        using var decodePositions = torch.tensor(new long[] { 7, 8 });
        var (dcos, _) = rope.ForPositions(decodePositions, decode, ScalarType.Float32);
        var d = dcos.data<float>().ToArray();
        Assert.Equal(Cos(Short, 3, 7, attention), d[3], 5);
        Assert.Equal(Cos(Long, 3, 8, attention), d[8 + 3], 5);
    }

    [Fact]
    public void FactorsMustCoverHalfTheRotaryDims()
    {
        var c = Config("""{"type": "su", "short_factor": [1.0], "long_factor": [1.0]}""");
        Assert.Throws<ModelConfigException>(() => new RotaryEmbedding(c, torch.CPU));
    }
}
