using System.Text.Json.Nodes;
using Pipeline.Models.Config;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Multimodal.Audio;

/// <summary>The fields of a Whisper checkpoint's preprocessor_config.json, with WhisperFeatureExtractor's defaults.</summary>
public sealed record WhisperFeatureConfig(int FeatureSize = 80, int SamplingRate = 16000, int HopLength = 160,
    int ChunkLength = 30, int NFft = 400, double PaddingValue = 0.0, double Dither = 0.0)
{
    public int NSamples => ChunkLength * SamplingRate;

    public int NbMaxFrames => NSamples / HopLength;

    /// <summary>Reads preprocessor_config.json (or processor_config.json's "feature_extractor"); defaults if neither.</summary>
    public static WhisperFeatureConfig FromDirectory(string dir, int? numMelBins = null)
    {
        JsonObject? o = null;
        var legacy = Path.Combine(dir, "preprocessor_config.json");
        var processor = Path.Combine(dir, "processor_config.json");
        if (File.Exists(legacy)) o = JsonNode.Parse(File.ReadAllText(legacy)) as JsonObject;
        else if (File.Exists(processor)) o = (JsonNode.Parse(File.ReadAllText(processor)) as JsonObject)?["feature_extractor"] as JsonObject;
        var d = new WhisperFeatureConfig(numMelBins ?? 80);
        if (o == null) return d;
        int Int(string k, int def) => o[k] is JsonValue v && v.TryGetValue<double>(out var x) ? (int)x : def;
        double Dbl(string k, double def) => o[k] is JsonValue v && v.TryGetValue<double>(out var x) ? x : def;
        var c = new WhisperFeatureConfig(Int("feature_size", d.FeatureSize), Int("sampling_rate", 16000), Int("hop_length", 160),
            Int("chunk_length", 30), Int("n_fft", 400), Dbl("padding_value", 0.0), Dbl("dither", 0.0));
        if (numMelBins is int bins && bins != c.FeatureSize)
            throw new ModelConfigException($"preprocessor_config.json has feature_size {c.FeatureSize} but config.json has num_mel_bins {bins}");
        return c;
    }
}

/// <summary>
/// transformers' WhisperFeatureExtractor: the 16 kHz waveform as float32, padded with zeros or cut to chunk_length
/// seconds, the short-time Fourier transform (n_fft, hop, periodic Hann, centred with reflect padding) as its numpy
/// path computes it (float64; a DFT as two matrix products), power spectrum without the last frame, Slaney mel filters,
/// log10 clamped at 1e-10, floored at max - 8, then (x + 4) / 4. Gives [feature_size, nb_max_frames] float32.
/// </summary>
public sealed class WhisperFeatureExtractor
{
    readonly Tensor _melFilters;  // [feature_size, n_fft/2 + 1], float64
    readonly Tensor _cos, _sin;    // the real DFT as matrices [n_fft, n_fft/2 + 1], float64
    readonly double[] _window;     // periodic Hann

    public WhisperFeatureConfig Config { get; }

    public WhisperFeatureExtractor(WhisperFeatureConfig config)
    {
        Config = config;
        int nFft = config.NFft, bins = 1 + nFft / 2;
        var filters = MelFilterBank.Slaney(bins, config.FeatureSize, 0.0, 8000.0, config.SamplingRate);
        var melT = new double[config.FeatureSize * bins];
        for (int m = 0; m < config.FeatureSize; m++)
            for (int f = 0; f < bins; f++) melT[m * bins + f] = filters[f, m];
        _melFilters = tensor(melT, [config.FeatureSize, bins]).DetachFromDisposeScope();
        var cos = new double[nFft * bins];
        var sin = new double[nFft * bins];
        for (int j = 0; j < nFft; j++)
            for (int k = 0; k < bins; k++)
            {
                double a = -2 * Math.PI * ((long)j * k % nFft) / nFft;
                cos[j * bins + k] = Math.Cos(a);
                sin[j * bins + k] = Math.Sin(a);
            }
        _cos = tensor(cos, [nFft, bins]).DetachFromDisposeScope();
        _sin = tensor(sin, [nFft, bins]).DetachFromDisposeScope();
        _window = new double[nFft];
        for (int j = 0; j < nFft; j++) _window[j] = 0.5 - 0.5 * Math.Cos(2 * Math.PI * j / nFft);
    }

    /// <summary>The number of frames that see audio for a waveform of <paramref name="samples"/> samples (at most nb_max_frames).</summary>
    public int FramesFor(int samples) => Math.Min(Config.NbMaxFrames, samples / Config.HopLength + 1);

    /// <summary>Features of one waveform at the extractor's sampling rate: [feature_size * nb_max_frames] row-major.</summary>
    public float[] Extract(ReadOnlySpan<float> waveform)
    {
        using var scope = NewDisposeScope();
        int nFft = Config.NFft, hop = Config.HopLength, frames = Config.NbMaxFrames, bins = 1 + nFft / 2, samples = Config.NSamples;
        var padded = new float[samples];
        var n = Math.Min(waveform.Length, samples);
        waveform[..n].CopyTo(padded);
        if (Config.PaddingValue != 0) Array.Fill(padded, (float)Config.PaddingValue, n, samples - n);
        // torch.stft(center=True, pad_mode="reflect"): frame t covers padded samples [t*hop - n_fft/2, t*hop + n_fft/2),
        // reflected at both ends; the last of the 1 + samples/hop frames is dropped, as transformers drops it
        // frames that see only zero padding have zero power: only the frames that reach the audio are transformed
        int half = nFft / 2;
        int active = Config.PaddingValue == 0 ? Math.Min(frames, (n + half) / hop + 2) : frames;
        var windowed = new double[(long)active * nFft];
        Parallel.For(0, active, t =>
        {
            long row = (long)t * nFft;
            for (int j = 0; j < nFft; j++)
            {
                int i = t * hop - half + j;
                if (i < 0) i = -i;
                else if (i >= samples) i = 2 * (samples - 1) - i;
                windowed[row + j] = padded[i] * _window[j];
            }
        });
        var x = tensor(windowed, [active, nFft]);
        var re = x.matmul(_cos);
        var im = x.matmul(_sin);
        var power = re.mul(re).add_(im.mul(im));                 // [active, bins]
        var mel = zeros(Config.FeatureSize, frames, ScalarType.Float64);
        mel.narrow(1, 0, active).copy_(_melFilters.matmul(power.t()));  // [feature_size, frames]
        var logSpec = mel.clamp_min(1e-10).log10();
        logSpec = torch.maximum(logSpec, logSpec.max() - 8.0);
        logSpec = (logSpec + 4.0) / 4.0;
        return logSpec.to_type(ScalarType.Float32).contiguous().data<float>().ToArray();
    }

    /// <summary>Decoded audio to features: down-mix, resample to the extractor's rate, extract.</summary>
    public float[] Extract(AudioData audio) => Extract(ToWaveform(audio));

    /// <summary>Down-mix and resample to the extractor's sampling rate.</summary>
    public float[] ToWaveform(AudioData audio) => AudioResampler.Resample(audio.ToMono(), audio.SampleRate, Config.SamplingRate);
}
