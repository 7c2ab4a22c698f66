using System.Text.Json.Nodes;
using Pipeline.Models.Architectures;
using Pipeline.Models.Config;
using Pipeline.Models.Loading;
using Pipeline.Models.Tests.Multimodal;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Pipeline.Models.Tests.Audio;

/// <summary>The tiny random Whisper models' encoder outputs against transformers' (scripts/fixtures/make_whisper_fixtures.py).</summary>
public class WhisperEncoderTests(ITestOutputHelper output)
{
    internal static readonly string Models = Path.Combine(AudioDecodingTests.Root, "reference", "models");

    public static IEnumerable<object[]> ModelNames() => new[] { new object[] { "whisper-tiny" }, ["whisper-tiny-128"] };

    [Theory]
    [MemberData(nameof(ModelNames))]
    public void Encoder_output_matches_transformers(string name)
    {
        var dir = Path.Combine(Models, name);
        if (!File.Exists(Path.Combine(dir, "expected.json"))) return;
        var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "expected.json")))!["cases"]![0]!;
        var config = ModelConfig.Load(dir);
        Assert.Equal(448, config.DerivedMaxModelLen);
        using var weights = new SafetensorsWeightSource(WeightStore.Open(dir));
        using var model = new WhisperForConditionalGeneration(config, weights, ScalarType.Float32, CPU);
        var clip = expected["clip"]!.GetValue<string>();
        var fe = new Pipeline.Models.Multimodal.Audio.WhisperFeatureExtractor(new(model.NumMelBins));
        var features = fe.Extract(AudioDecodingTests.Reference(clip));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var states = model.EncoderStates(tensor(features, [1, model.NumMelBins, 3000]));
        var head = expected["encoder_out_head"]!.AsArray();
        double max = 0;
        for (int i = 0; i < head.Count; i++)
            for (int j = 0; j < head[i]!.AsArray().Count; j++)
                max = Math.Max(max, Math.Abs(head[i]![j]!.GetValue<double>() - states[0, i, j].item<float>()));
        double mean = states.to_type(ScalarType.Float64).mean().item<double>();
        output.WriteLine($"{name} {clip}: encoder head max |diff| {max:E2}, mean {mean:F6} vs {expected["encoder_out_mean"]}");
        Assert.True(max < 1e-3, $"encoder output differs by {max}");
        Assert.Equal(expected["encoder_out_mean"]!.GetValue<double>(), mean, 3);
    }
}
