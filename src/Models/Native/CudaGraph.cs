using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace Pipeline.Models.Native;

/// <summary>
/// A CUDA graph of TorchSharp work (libpipeline_native's pn_graph_*). <see cref="Capture"/> runs the action a few
/// times on a side stream as warm-up, then records one more run; <see cref="Replay"/> re-runs the recorded kernels
/// on the current stream. Inputs must be copied into tensors that existed before the capture and outputs read from
/// tensors the action writes (copy_); nothing inside may synchronize with the host (.item(), .cpu(), CPU tensors).
/// All graphs of a device share one memory pool, so capture the largest batch size first, and read any tensor the
/// action allocated (it lives in that pool) before replaying another graph. Use it on the thread that
/// owns the GPU work; one graph is not safe to use from several threads at once.
/// </summary>
public sealed class CudaGraph : IDisposable
{
    IntPtr _handle;

    public bool IsCaptured { get; private set; }

    public unsafe CudaGraph()
    {
        var exports = NativeOps.Exports;
        IntPtr handle;
        NativeOps.Check(exports.pn_graph_create(&handle), "pn_graph_create");
        _handle = handle;
    }

    /// <summary>Runs <paramref name="work"/> <paramref name="warmups"/> times, then captures one run. An exception
    /// thrown by the action is rethrown here (the capture is abandoned and the graph stays empty).</summary>
    public unsafe void Capture(Action work, int warmups = 3)
    {
        ArgumentNullException.ThrowIfNull(work);
        ObjectDisposedException.ThrowIf(_handle == IntPtr.Zero, this);
        if (IsCaptured) throw new InvalidOperationException("This CUDA graph was already captured; create a new one.");
        var context = new CaptureContext(work);
        var gc = GCHandle.Alloc(context);
        try
        {
            var rc = NativeOps.Exports.pn_graph_capture(_handle, &Trampoline, GCHandle.ToIntPtr(gc), warmups);
            context.Error?.Throw();
            NativeOps.Check(rc, "pn_graph_capture");
            IsCaptured = true;
        }
        finally
        {
            gc.Free();
        }
    }

    /// <summary>Re-runs the captured kernels on the current CUDA stream (asynchronously).</summary>
    public unsafe void Replay()
    {
        ObjectDisposedException.ThrowIf(_handle == IntPtr.Zero, this);
        if (!IsCaptured) throw new InvalidOperationException("Capture the CUDA graph before replaying it.");
        NativeOps.Check(NativeOps.Exports.pn_graph_replay(_handle), "pn_graph_replay");
    }

    public unsafe void Dispose()
    {
        var handle = _handle;
        _handle = IntPtr.Zero;
        if (handle != IntPtr.Zero) NativeOps.Exports.pn_graph_destroy(handle);
        GC.SuppressFinalize(this);
    }

    ~CudaGraph()
    {
        // A graph's memory returns to the shared pool only when it is destroyed; a leaked one is freed here.
        if (_handle != IntPtr.Zero && NativeOps.IsAvailable)
            unsafe { NativeOps.Exports.pn_graph_destroy(_handle); }
    }

    sealed class CaptureContext(Action work)
    {
        public readonly Action Work = work;
        public ExceptionDispatchInfo? Error;
    }

    [UnmanagedCallersOnly]
    static int Trampoline(IntPtr state)
    {
        var context = (CaptureContext)GCHandle.FromIntPtr(state).Target!;
        try
        {
            context.Work();
            return 0;
        }
        catch (Exception e)
        {
            context.Error ??= ExceptionDispatchInfo.Capture(e);
            return 1;
        }
    }
}
