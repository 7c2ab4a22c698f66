namespace Pipeline.Host.Progress;

/// <summary>
/// Progress of the long steps before serving: loading a checkpoint (the share of its *.safetensors bytes read) and then
/// sizing the KV cache (on CUDA after a profiling forward) and allocating it.
/// </summary>
public static class LoadProgress
{
    public const string Weights = "loading weights", KvCache = "profiling and allocating the KV cache";

    /// <summary>
    /// Runs <paramref name="work"/>, which loads the checkpoint in <paramref name="modelDir"/> (and may then build the
    /// engine: once every byte is read, the phase shown becomes the KV cache's).
    /// </summary>
    public static T Load<T>(IProgressView view, string label, string? modelDir, Func<T> work)
    {
        var meter = new CheckpointReadMeter(modelDir);
        string total = Size(meter.TotalBytes);
        return view.Run(label, () =>
        {
            if (meter.TotalBytes == 0) return new ProgressState(Weights, null, "");
            long read = meter.ReadBytes();
            return read >= meter.TotalBytes
                ? new ProgressState(KvCache, null, "")
                : new ProgressState(Weights, (double)read / meter.TotalBytes, $"{Size(read)} of {total}");
        }, work);
    }

    /// <summary>Runs <paramref name="work"/>, which sizes and allocates the KV cache (no fraction is known).</summary>
    public static T KvCacheSizing<T>(IProgressView view, string label, Func<T> work) =>
        view.Run(label, () => new ProgressState(KvCache, null, ""), work);

    /// <summary>The directory a MODEL argument names, for the meter; null when it does not resolve (the load then reports why).</summary>
    public static string? TryResolve(string model, string? revision)
    {
        try { return Pipeline.Models.Loading.ModelResolver.Resolve(model, revision); }
        catch (Pipeline.Models.Loading.ModelNotFoundException) { return null; }
    }

    /// <summary>The name progress shows for a model: its directory's name.</summary>
    public static string Label(string modelDir) => Path.GetFileName(Path.TrimEndingDirectorySeparator(modelDir));

    /// <summary>Progress for the CLI: log lines go to stderr, as the CLI's other messages.</summary>
    public static IProgressView ForCli() => ProgressMode.Create(line => Console.Error.WriteLine(line), service: false);

    /// <summary>Progress for the server: lines in its log.</summary>
    public static IProgressView ForService(ILogger logger) => ProgressMode.Create(line => logger.LogInformation("{Progress}", line), service: true);

    static string Size(long bytes) => bytes >= 1L << 30 ? $"{bytes / (double)(1L << 30):0.00} GiB" : $"{bytes / (double)(1L << 20):0.0} MiB";
}
