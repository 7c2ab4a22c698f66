using System.Diagnostics;
using Pipeline.Host.Cli;
using Pipeline.Models.Multimodal.Audio;

namespace Pipeline.Host.Commands;

/// <summary>
/// `pipeline bench-audio`: how many seconds of audio per second the Whisper input path handles on one thread:
/// decoding, down-mix + resampling to 16 kHz, and log-mel features (one 30 s window per call), per file.
/// </summary>
public static class BenchAudioCommand
{
    public static readonly CommandSpec Spec = new("bench-audio", "Audio decoding, resampling and Whisper log-mel throughput (seconds of audio per second) per file.", ["FILE..."],
    [
        new("repeats", "timed passes per file (best is reported)", "5"),
        new("mel-bins", "80 or 128", "80"),
    ]);

    public static int Run(ParsedArgs args)
    {
        var files = args.Positionals.Count > 0 ? args.Positionals
            : Directory.GetFiles("tests/fixtures/audio").Where(f => AudioDecoder.Sniff(File.ReadAllBytes(f)) != null).Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0) throw new CliException("give audio files");
        var fe = new WhisperFeatureExtractor(new WhisperFeatureConfig(args.Int("mel-bins")));
        int repeats = args.Int("repeats");
        Console.WriteLine($"one thread per step, best of {repeats}; features: {fe.Config.FeatureSize} bins, one {fe.Config.ChunkLength} s window per call");
        double totalAudio = 0, totalTime = 0;
        foreach (var f in files)
        {
            var bytes = File.ReadAllBytes(f);
            var audio = AudioDecoder.Decode(bytes);
            var wav = fe.ToWaveform(audio);
            fe.Extract(wav);
            double decode = Best(repeats, () => AudioDecoder.Decode(bytes));
            double resample = Best(repeats, () => fe.ToWaveform(audio));
            double features = Best(repeats, () => fe.Extract(wav));
            double all = decode + resample + features;
            totalAudio += audio.Seconds;
            totalTime += all;
            Console.WriteLine($"{Path.GetFileName(f)} ({audio.Format} {audio.SampleRate} Hz x{audio.Channels}, {audio.Seconds:F2} s): " +
                $"decode {audio.Seconds / decode:F0}x, resample {audio.Seconds / resample:F0}x, features {audio.Seconds / features:F0}x " +
                $"({features * 1000:F1} ms per window), all {audio.Seconds / all:F0} s of audio per second");
        }
        Console.WriteLine($"overall: {totalAudio / totalTime:F0} s of audio per second");
        return 0;
    }

    static double Best(int repeats, Action work)
    {
        double best = double.MaxValue;
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            work();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return best;
    }
}
