using System.Text.Json.Nodes;
using Pipeline.Models.Multimodal;
using Pipeline.Models.Multimodal.Audio;
using Xunit.Abstractions;

namespace Pipeline.Models.Tests.Audio;

/// <summary>
/// Decoding, down-mixing and resampling the speech clips (tests/fixtures/audio, made by
/// scripts/fixtures/make_whisper_audio.sh) against what sox decodes and scipy.signal.resample_poly makes of them
/// (each clip's .16k.f32, made by make_whisper_reference_pcm.py).
/// </summary>
public class AudioDecodingTests(ITestOutputHelper output)
{
    internal static readonly string Root = Path.Combine(AppContext.BaseDirectory, "fixtures", "audio");

    public static IEnumerable<object[]> Clips() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(Root, "clips.json")))!.AsObject().Select(kv => new object[] { kv.Key });

    internal static float[] Reference(string clip) =>
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(Path.Combine(Root, clip + ".16k.f32"))).ToArray();

    [Theory]
    [MemberData(nameof(Clips))]
    public void Decodes_and_resamples_as_sox_and_scipy_do(string clip)
    {
        var info = JsonNode.Parse(File.ReadAllText(Path.Combine(Root, "clips.json")))![clip]!;
        var audio = AudioDecoder.Decode(File.ReadAllBytes(Path.Combine(Root, clip)));
        Assert.Equal(info["rate"]!.GetValue<int>(), audio.SampleRate);
        Assert.Equal(info["channels"]!.GetValue<int>(), audio.Channels);
        var got = AudioResampler.Resample(audio.ToMono(), audio.SampleRate, 16000);
        var want = Reference(clip);
        bool mp3 = clip.EndsWith(".mp3"), ogg = clip.EndsWith(".ogg");
        // Every frame of the stream, the last MP3 frame included (the reference feeds libmad the bytes it needs after it)
        Assert.Equal(want.Length, got.Length);
        int n = want.Length;
        double maxDiff = 0, sumSq = 0, refSq = 0;
        for (int i = 0; i < n; i++)
        {
            double d = Math.Abs(got[i] - want[i]);
            maxDiff = Math.Max(maxDiff, d);
            sumSq += d * d;
            refSq += (double)want[i] * want[i];
        }
        double snr = 10 * Math.Log10(refSq / Math.Max(sumSq, 1e-30));
        output.WriteLine($"{clip}: {audio.Format} {audio.SampleRate} Hz x{audio.Channels}, {audio.Frames} frames -> {got.Length} samples " +
                         $"(reference {want.Length}); max |diff| {maxDiff:E2}, SNR {snr:F1} dB");
        // lossless formats: the same samples, resampled by the same filter, to float32 rounding; MP3: NLayer (float)
        // against libmad (fixed point) in sox, ~1e-6; Ogg: NVorbis against libvorbis, ~2e-5
        if (mp3) Assert.True(maxDiff < 2e-6, $"{clip}: max |diff| {maxDiff}");
        else if (ogg) Assert.True(maxDiff < 5e-5, $"{clip}: max |diff| {maxDiff}");
        else Assert.True(maxDiff < 1e-6, $"{clip}: max |diff| {maxDiff}");
    }

    [Fact]
    public void Stereo_is_averaged()
    {
        var audio = AudioDecoder.Decode(File.ReadAllBytes(Path.Combine(Root, "en_16k_stereo_s16.wav")));
        Assert.Equal(2, audio.Channels);
        var mono = audio.ToMono();
        for (int i = 0; i < mono.Length; i += 997)
            Assert.Equal((audio.Samples[2 * i] + (double)audio.Samples[2 * i + 1]) / 2, mono[i], 12);
        Assert.Contains(Enumerable.Range(0, mono.Length), i => audio.Samples[2 * i] != audio.Samples[2 * i + 1]);
    }

    [Theory]
    [InlineData(new byte[0], "empty")]
    [InlineData(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 }, "not a known audio format")]
    [InlineData(new byte[] { 0, 0, 0, 32, (byte)'f', (byte)'t', (byte)'y', (byte)'p', (byte)'M', (byte)'4', (byte)'A', 32 }, "unsupported audio format MP4/M4A")]
    public void Bad_bytes_name_the_problem(byte[] bytes, string message)
    {
        var e = Assert.Throws<MediaException>(() => AudioDecoder.Decode(bytes));
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("en_16k_s16.wav")]
    [InlineData("de_16k_s16.flac")]
    [InlineData("en_22k.mp3")]
    [InlineData("en_48k.ogg")]
    public void Truncated_or_too_long_audio_is_refused(string clip)
    {
        var bytes = File.ReadAllBytes(Path.Combine(Root, clip));
        var tooLong = Assert.Throws<MediaException>(() => AudioDecoder.Decode(bytes, maxSeconds: 0.5));
        Assert.Contains("too long", tooLong.Message);
        // a header with nothing after it: refused, or decoded to nothing that passes for audio
        var truncated = bytes[..Math.Min(bytes.Length, 60)];
        Assert.Throws<MediaException>(() => AudioDecoder.Decode(truncated));
    }
}
