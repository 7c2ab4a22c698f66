using System.Security.Cryptography;
using System.Runtime.InteropServices;
using Pipeline.Models.Multimodal;
using Pipeline.Models.Multimodal.Audio;

namespace Pipeline.Actors.Speech;

/// <summary>
/// Audio bytes to what a Whisper request carries: decode (WAV, FLAC, MP3, Ogg Vorbis), down-mix, resample to the
/// feature extractor's rate, split into windows as vLLM does (<see cref="AudioChunker"/>), and compute each window's
/// log-mel features. Errors are <see cref="MediaException"/>s naming the problem (empty, undecodable, unsupported,
/// too long, silent-length).
/// </summary>
public sealed class SpeechAudioProcessor(WhisperFeatureExtractor extractor, double maxSeconds = AudioDecoder.DefaultMaxSeconds)
{
    public WhisperFeatureExtractor Extractor => extractor;
    public double MaxSeconds => maxSeconds;

    public (IReadOnlyList<ProcessedAudio> Chunks, double Seconds) Process(byte[] bytes)
    {
        var audio = AudioDecoder.Decode(bytes, maxSeconds);
        var wav = extractor.ToWaveform(audio);
        if (wav.Length == 0) throw new MediaException("the audio is empty (no samples after decoding)");
        int rate = extractor.Config.SamplingRate;
        var chunks = AudioChunker.Split(wav, rate, extractor.Config.ChunkLength)
            .Select(c => Features(wav.AsSpan(c.Start, c.Length), rate)).ToList();
        return (chunks, audio.Seconds);
    }

    ProcessedAudio Features(ReadOnlySpan<float> wav, int rate)
    {
        var features = extractor.Extract(wav);
        var hash = Convert.ToHexStringLower(SHA256.HashData(MemoryMarshal.AsBytes(wav)));
        return new ProcessedAudio(features, extractor.Config.FeatureSize, extractor.Config.NbMaxFrames, (double)wav.Length / rate, hash);
    }
}
