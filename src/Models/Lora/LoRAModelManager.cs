using Pipeline.Models.Architectures;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Lora;

/// <summary>
/// The adapters of one model (vLLM's LRUCacheLoRAModelManager): puts a <see cref="LoRALinearMethod"/> on every
/// projection adapters can target, keeps up to --max-cpu-loras adapters read in CPU memory (least recently used
/// dropped first, read again from their directory when needed) and --max-loras of them in GPU slots (least recently
/// used slot not needed by the step reused). Before each step the runner says which adapter each sequence uses
/// (<see cref="BeginStep"/>); a step without adapters costs nothing extra.
/// Adding and removing may come from other threads (the HTTP routes); steps come from the runner's thread.
/// </summary>
public sealed class LoRAModelManager : IDisposable
{
    readonly object _lock = new();
    readonly LinkedList<LoRAModel> _cpuOrder = new();
    readonly Dictionary<int, LinkedListNode<LoRAModel>> _cpu = new();
    readonly LoRALinearMethod[] _methods;
    readonly int?[] _slotIds;
    readonly long[] _slotUsed;
    long _tick;

    public LoRAConfig Config { get; }
    public IReadOnlyList<LoRATarget> Targets { get; }
    public ScalarType DType { get; }
    public Device Device { get; }
    /// <summary>The running step's token-to-slot mapping; null outside a step or when no token uses an adapter.</summary>
    public LoRAStepMapping? Current { get; private set; }
    /// <summary>Adapters read into GPU slots so far (a measure of slot churn).</summary>
    public long SlotLoads { get; private set; }

    public LoRAModelManager(ICausalLM model, LoRAConfig config)
    {
        config.Validate();
        if (model is not ISupportsLoRA lora || lora.LoRATargets.Count == 0)
            throw new ArgumentException($"--enable-lora: {model.Config.Architecture} does not support LoRA adapters in Pipeline");
        Config = config;
        Targets = lora.LoRATargets;
        DType = model.DType;
        Device = model.Device;
        _methods = Targets.Select(t => new LoRALinearMethod(t, t.Linear.Method, this, config.MaxLoras, config.MaxLoraRank, DType, Device)).ToArray();
        foreach (var m in _methods) m.Target.Linear.Method = m;
        _slotIds = new int?[config.MaxLoras];
        _slotUsed = new long[config.MaxLoras];
    }

    /// <summary>Reads and validates an adapter and keeps it in CPU memory; throws <see cref="LoRAException"/> naming the problem.</summary>
    public LoRAModel Add(LoRARequest request)
    {
        lock (_lock) return GetOrLoad(request);
    }

    /// <summary>Drops an adapter from CPU memory. A GPU slot holding it stays until reused, so running requests finish.</summary>
    public bool Remove(int loraIntId)
    {
        lock (_lock)
        {
            if (!_cpu.Remove(loraIntId, out var node)) return false;
            _cpuOrder.Remove(node);
            node.Value.Dispose();
            return true;
        }
    }

    /// <summary>Ids of the adapters in CPU memory, most recently used first.</summary>
    public IReadOnlyList<int> CpuLoras { get { lock (_lock) return _cpuOrder.Select(m => m.Request.LoraIntId).ToArray(); } }

    /// <summary>Ids held by the GPU slots (null for an empty slot).</summary>
    public IReadOnlyList<int?> SlotLoras => _slotIds.ToArray();

    LoRAModel GetOrLoad(LoRARequest request)
    {
        if (_cpu.TryGetValue(request.LoraIntId, out var node))
        {
            _cpuOrder.Remove(node);
            _cpuOrder.AddFirst(node);
            return node.Value;
        }
        var model = LoRAModel.Load(request, Targets, Config, DType);
        while (_cpu.Count >= Config.CpuCapacity)
        {
            var last = _cpuOrder.Last!;
            _cpuOrder.RemoveLast();
            _cpu.Remove(last.Value.Request.LoraIntId);
            last.Value.Dispose();
        }
        _cpu[request.LoraIntId] = _cpuOrder.AddFirst(model);
        return model;
    }

    /// <summary>
    /// Sets the step's mapping from each sequence's adapter (null for the base model) and token count, in batch order,
    /// loading adapters into slots as needed. Dispose the result after the forward.
    /// </summary>
    public IDisposable? BeginStep(IReadOnlyList<(LoRARequest? Lora, int NumTokens)> seqs)
    {
        if (seqs.All(s => s.Lora is null)) return null;
        var needed = seqs.Where(s => s.Lora != null).Select(s => s.Lora!).DistinctBy(l => l.LoraIntId).ToList();
        if (needed.Count > Config.MaxLoras)
            throw new InvalidOperationException($"a step uses {needed.Count} adapters but --max-loras is {Config.MaxLoras}");
        var slotOf = new Dictionary<int, int>();
        long tick = ++_tick;
        foreach (var l in needed)
        {
            int slot = Array.IndexOf(_slotIds, l.LoraIntId);
            if (slot >= 0) { slotOf[l.LoraIntId] = slot; _slotUsed[slot] = tick; }
        }
        foreach (var l in needed.Where(l => !slotOf.ContainsKey(l.LoraIntId)))
        {
            int slot = Array.IndexOf(_slotIds, null);
            if (slot < 0)
                slot = Enumerable.Range(0, _slotIds.Length).Where(i => _slotUsed[i] != tick).MinBy(i => _slotUsed[i]);
            lock (_lock)
            {
                var model = GetOrLoad(l);
                foreach (var m in _methods) m.SetSlot(slot, model.Modules.GetValueOrDefault(m.Target.Module));
            }
            _slotIds[slot] = l.LoraIntId;
            _slotUsed[slot] = tick;
            slotOf[l.LoraIntId] = slot;
            SlotLoads++;
        }
        int total = seqs.Sum(s => s.NumTokens), s = Config.MaxLoras;
        var oneHot = new float[(long)total * s];
        int row = 0;
        foreach (var (lora, n) in seqs)
        {
            if (lora != null)
                for (int i = 0; i < n; i++) oneHot[(long)(row + i) * s + slotOf[lora.LoraIntId]] = 1f;
            row += n;
        }
        var cpu = tensor(oneHot, [total, s]).DetachFromDisposeScope();
        var onDevice = cpu.to(DType, Device).DetachFromDisposeScope();
        if (!ReferenceEquals(onDevice, cpu)) cpu.Dispose();
        Current = new LoRAStepMapping(onDevice, Config.MaxLoraRank);
        return new EndStep(this);
    }

    sealed class EndStep(LoRAModelManager manager) : IDisposable
    {
        public void Dispose()
        {
            manager.Current?.Dispose();
            manager.Current = null;
        }
    }

    public void Dispose()
    {
        foreach (var m in _methods)
        {
            m.Target.Linear.Method = m.Base;
            m.Dispose();
        }
        lock (_lock)
        {
            foreach (var m in _cpuOrder) m.Dispose();
            _cpuOrder.Clear();
            _cpu.Clear();
        }
    }
}
