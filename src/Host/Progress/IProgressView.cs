namespace Pipeline.Host.Progress;

/// <summary>Where progress of long work (loading a checkpoint, sizing the KV cache) is shown: a terminal bar or log lines.</summary>
public interface IProgressView
{
    /// <summary>Runs <paramref name="work"/> on the calling thread, showing <paramref name="poll"/>'s state until it returns.</summary>
    T Run<T>(string label, Func<ProgressState> poll, Func<T> work);
}

/// <summary>What the view shows: a phase (what runs now), and how far it is when that is known.</summary>
public readonly record struct ProgressState(string Phase, double? Fraction, string Detail);
