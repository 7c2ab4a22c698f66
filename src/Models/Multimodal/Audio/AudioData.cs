namespace Pipeline.Models.Multimodal.Audio;

/// <summary>Decoded audio: interleaved float samples in [-1, 1] (frame-major), its sample rate and channel count.</summary>
public sealed record AudioData(float[] Samples, int SampleRate, int Channels, string Format)
{
    public long Frames => Samples.Length / Channels;

    public double Seconds => (double)Frames / SampleRate;

    /// <summary>The channels averaged (librosa's to_mono, which vLLM's audio loading uses), in float64.</summary>
    public double[] ToMono()
    {
        var mono = new double[Frames];
        if (Channels == 1)
        {
            for (int i = 0; i < mono.Length; i++) mono[i] = Samples[i];
            return mono;
        }
        for (long f = 0, j = 0; f < mono.Length; f++)
        {
            double sum = 0;
            for (int c = 0; c < Channels; c++) sum += Samples[j++];
            mono[f] = sum / Channels;
        }
        return mono;
    }
}
