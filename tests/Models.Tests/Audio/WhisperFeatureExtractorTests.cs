using System.Text.Json.Nodes;
using Pipeline.Models.Multimodal.Audio;
using Pipeline.Models.Tests.Multimodal;
using Xunit.Abstractions;

namespace Pipeline.Models.Tests.Audio;

/// <summary>
/// Log-mel features against transformers' WhisperFeatureExtractor (tests/fixtures/audio/reference, made by
/// scripts/fixtures/make_whisper_fixtures.py on the clips' 16 kHz reference PCM): from that PCM (the extractor alone),
/// and from each clip file through decoding, down-mixing and resampling (the whole audio input path).
/// </summary>
public class WhisperFeatureExtractorTests(ITestOutputHelper output)
{
    static readonly string Reference = Path.Combine(AudioDecodingTests.Root, "reference");
    static readonly Lazy<SafetensorsArrays?> Features = new(() =>
        File.Exists(Path.Combine(Reference, "features.safetensors")) ? new SafetensorsArrays(Path.Combine(Reference, "features.safetensors")) : null);

    public static IEnumerable<object[]> Cases() =>
        AudioDecodingTests.Clips().SelectMany(c => new[] { new object[] { c[0], 80 }, [c[0], 128] });

    static (float[] Want, float[] Tail, int Keep)? Expected(string clip, int bins)
    {
        var f = Features.Value;
        if (f == null || !f.Has($"{clip}.mel{bins}")) return null;
        return (f.Floats($"{clip}.mel{bins}"), f.Floats($"{clip}.mel{bins}.tail"), f.Shape($"{clip}.mel{bins}")[1]);
    }

    double MaxDiff(float[] got, int bins, (float[] Want, float[] Tail, int Keep) e, int frames) => MaxDiffAt(got, bins, e, frames).Max;

    /// <summary>The largest |diff|, where it is (bin, frame), and the reference's value there and its frame's loudest bin.</summary>
    static (double Max, int Bin, int Frame, float Want, float FrameMax) MaxDiffAt(float[] got, int bins, (float[] Want, float[] Tail, int Keep) e, int frames)
    {
        (double Max, int Bin, int Frame, float Want, float FrameMax) r = (0, 0, 0, 0, 0);
        float At(int m, int t) => t < e.Keep ? e.Want[m * e.Keep + t] : e.Tail[m];
        for (int m = 0; m < bins; m++)
            for (int t = 0; t < frames; t++)
            {
                double d = Math.Abs(got[m * frames + t] - At(m, t));
                if (d > r.Max) r = (d, m, t, At(m, t), 0);
            }
        r.FrameMax = Enumerable.Range(0, bins).Max(m => At(m, r.Frame));
        return r;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Features_of_the_reference_pcm_match_transformers(string clip, int bins)
    {
        if (Expected(clip, bins) is not { } e) return;
        var fe = new WhisperFeatureExtractor(new WhisperFeatureConfig(bins));
        var got = fe.Extract(AudioDecodingTests.Reference(clip));
        Assert.Equal(bins * 3000, got.Length);
        double max = MaxDiff(got, bins, e, 3000);
        output.WriteLine($"{clip} {bins} bins: max |diff| {max:E2}");
        Assert.True(max <= 1e-4, $"{clip}: features differ by {max}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Features_of_the_decoded_file_match_transformers(string clip, int bins)
    {
        if (Expected(clip, bins) is not { } e) return;
        var fe = new WhisperFeatureExtractor(new WhisperFeatureConfig(bins));
        var got = fe.Extract(AudioDecoder.Decode(File.ReadAllBytes(Path.Combine(AudioDecodingTests.Root, clip))));
        var (max, bin, frame, want, frameMax) = MaxDiffAt(got, bins, e, 3000);
        output.WriteLine($"{clip} {bins} bins: max |diff| {max:E2} at bin {bin} frame {frame} (transformers {want:F3}, the frame's loudest bin {frameMax:F3})");
        // Lossless clips decode to the reference PCM exactly: the extractor's own 1e-4. Lossy ones decode through other
        // decoders than sox's (NLayer vs libmad: every frame, within 1e-6 a sample; NVorbis vs libvorbis: within 2e-5),
        // and in the quietest bins (near the floor, 8 decades below the clip's loudest) such a difference is a sizeable
        // part of the bin's power, so the log moves there: MP3 by up to 2.2e-4, Ogg by up to 0.023 (after Whisper's /4).
        double bound = clip.EndsWith(".ogg") ? 0.03 : clip.EndsWith(".mp3") ? 3e-4 : 1e-4;
        Assert.True(max <= bound, $"{clip}: features differ by {max}");
    }

    [Fact]
    public void Mel_filters_follow_the_slaney_scale()
    {
        var f = MelFilterBank.Slaney(201, 80, 0, 8000, 16000);
        // each filter is a triangle with unit area in Hz (Slaney normalization): sum(weights) * 40 Hz bin width ~ 1... times 2/width
        for (int m = 0; m < 80; m++)
        {
            double sum = 0;
            for (int b = 0; b < 201; b++) { Assert.True(f[b, m] >= 0); sum += f[b, m]; }
            Assert.True(sum > 0, $"filter {m} is empty");
        }
        Assert.Equal(1000.0, MelFilterBank.MelToHertz(MelFilterBank.HertzToMel(1000.0)), 9);
        Assert.Equal(15.0, MelFilterBank.HertzToMel(1000.0), 12);
    }
}
