using System.Runtime.InteropServices;

namespace Pipeline.Host.Http;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM for `pipeline serve`. The first one stops the host gracefully (the host's console
/// lifetime does that) while in-flight requests drain; a second one cancels <see cref="StopNow"/>, so the drain ends
/// at once and the requests still running are aborted.
/// </summary>
public sealed class ShutdownSignals : IDisposable
{
    readonly CancellationTokenSource _stopNow = new();
    readonly PosixSignalRegistration[] _registrations;
    readonly ILogger _logger;
    int _signals;

    public ShutdownSignals(ILogger logger)
    {
        _logger = logger;
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal), PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal)];
    }

    /// <summary>Cancelled by the second signal.</summary>
    public CancellationToken StopNow => _stopNow.Token;

    /// <summary>What the first signal's drain says: how many requests, how long, and how to stop at once.</summary>
    public void LogDraining(int requests, int timeoutSeconds) =>
        _logger.LogInformation("draining {Requests} requests (up to {Timeout} s); press Ctrl-C again to stop now", requests, timeoutSeconds);

    void OnSignal(PosixSignalContext context)
    {
        // The host's own handler cancels the default termination and stops the application on every signal.
        context.Cancel = true;
        if (Interlocked.Increment(ref _signals) < 2) return;
        if (_stopNow.IsCancellationRequested) return;
        _logger.LogWarning("stopping now: requests still running are aborted");
        _stopNow.Cancel();
    }

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _stopNow.Dispose();
    }
}
