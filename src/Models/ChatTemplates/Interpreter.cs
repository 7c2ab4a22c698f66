using System.Text;

namespace Pipeline.Models.ChatTemplates;

/// <summary>Walks the statement tree for one render.</summary>
internal sealed class Interpreter
{
    private enum Flow { Normal, Break, Continue }

    // Macro calls and recursive loops nest the CLR stack; fail cleanly long before it overflows.
    private const int MaxCallDepth = 100;
    private int _callDepth;

    private T Nested<T>(Func<T> body)
    {
        if (_callDepth >= MaxCallDepth) throw new RenderError("maximum recursion depth exceeded");
        _callDepth++;
        try
        {
            return body();
        }
        finally
        {
            _callDepth--;
        }
    }

    public void Run(List<Stmt> body, Scope scope, StringBuilder output) => Exec(body, scope, output);

    private Flow Exec(List<Stmt> body, Scope scope, StringBuilder output)
    {
        foreach (var stmt in body)
        {
            var flow = ExecOne(stmt, scope, output);
            if (flow != Flow.Normal) return flow;
        }
        return Flow.Normal;
    }

    private Flow ExecOne(Stmt stmt, Scope scope, StringBuilder output)
    {
        try
        {
            return ExecCore(stmt, scope, output);
        }
        catch (Exception e) when (IsRenderFailure(e))
        {
            throw new TemplateException(Describe(e), stmt.Line, stmt.Column, e);
        }
    }

    private Flow ExecCore(Stmt stmt, Scope scope, StringBuilder output)
    {
        switch (stmt)
        {
            case TextStmt t:
                output.Append(t.Text);
                return Flow.Normal;
            case OutputStmt o:
                output.Append(PyFormat.Str(Eval(o.Value, scope)));
                return Flow.Normal;
            case IfStmt i:
                foreach (var (test, body) in i.Branches)
                    if (PyOps.Truthy(Eval(test, scope)))
                        return Exec(body, scope, output);
                return i.Else != null ? Exec(i.Else, scope, output) : Flow.Normal;
            case ForStmt f:
                output.Append(RunFor(f, Eval(f.Iter, scope), scope, 1));
                return Flow.Normal;
            case SetStmt s:
                Assign(s.Target, Eval(s.Value, scope), scope);
                return Flow.Normal;
            case SetBlockStmt sb:
            {
                object? value = Render(sb.Body, new Scope(scope));
                foreach (var f in sb.Filters) value = ApplyFilter(f, value, scope);
                Assign(sb.Target, value, scope);
                return Flow.Normal;
            }
            case MacroStmt m:
                scope.Set(m.Name, MakeMacro(m.Name, m.Params, m.Body, scope));
                return Flow.Normal;
            case CallBlockStmt cb:
            {
                var caller = MakeMacro(null, cb.Params, cb.Body, scope);
                var target = Eval(cb.Call.Target, scope);
                var args = BuildArgs(cb.Call.Args, scope);
                args.Named.Add(new("caller", caller));
                output.Append(PyFormat.Str(Invoke(target, args)));
                return Flow.Normal;
            }
            case FilterBlockStmt fb:
            {
                object? value = Render(fb.Body, scope);
                foreach (var f in fb.Filters) value = ApplyFilter(f, value, scope);
                output.Append(PyFormat.Str(value));
                return Flow.Normal;
            }
            case WithStmt w:
            {
                var inner = new Scope(scope);
                foreach (var (target, value) in w.Assignments) Assign(target, Eval(value, scope), inner);
                return Exec(w.Body, inner, output);
            }
            case ScopeStmt s:
                return Exec(s.Body, scope, output);
            case BreakStmt:
                return Flow.Break;
            case ContinueStmt:
                return Flow.Continue;
            default:
                throw new RenderError($"unsupported statement {stmt.GetType().Name}");
        }
    }

    private string Render(List<Stmt> body, Scope scope)
    {
        var sb = new StringBuilder();
        Exec(body, scope, sb);
        return sb.ToString();
    }

    private string RunFor(ForStmt f, object? iterable, Scope scope, int depth)
    {
        var items = PyOps.Iterate(iterable).ToList();
        if (f.Filter != null)
        {
            items = items.Where(item =>
            {
                var probe = new Scope(scope);
                Assign(f.Target, item, probe);
                return PyOps.Truthy(Eval(f.Filter, probe));
            }).ToList();
        }
        var output = new StringBuilder();
        Callable? recurse = f.Recursive
            ? new Callable("loop", a => Nested(() => RunFor(f, a.Required(0, "iterable", "loop"), scope, depth + 1)))
            : null;
        var loop = new LoopContext(items, depth, recurse);
        // jinja2 skips `else` only once some iteration ran its body to the end: an iteration left by
        // break or continue does not count (unlike Python's for/else).
        bool completedOne = false;
        for (int i = 0; i < items.Count; i++)
        {
            loop.Index0 = i;
            var iter = new Scope(scope);
            Assign(f.Target, items[i], iter);
            iter.Set("loop", loop);
            var flow = Exec(f.Body, iter, output);
            if (flow == Flow.Normal) completedOne = true;
            if (flow == Flow.Break) break;
        }
        if (!completedOne && f.Else != null) Exec(f.Else, new Scope(scope), output);
        return output.ToString();
    }

    private void Assign(Expr target, object? value, Scope scope)
    {
        switch (target)
        {
            case NameExpr n:
                scope.Set(n.Name, value);
                break;
            case TupleExpr t:
                var parts = PyOps.Iterate(value).ToList();
                if (parts.Count != t.Items.Count)
                    throw new RenderError(parts.Count < t.Items.Count
                        ? $"not enough values to unpack (expected {t.Items.Count}, got {parts.Count})"
                        : $"too many values to unpack (expected {t.Items.Count})");
                for (int i = 0; i < parts.Count; i++) Assign(t.Items[i], parts[i], scope);
                break;
            case AttrExpr { Target: NameExpr ns } a:
                if (scope.Lookup(ns.Name) is not Namespace space)
                    throw new RenderError("cannot assign attribute on non-namespace object");
                space.Attrs[a.Name] = value;
                break;
            default:
                throw new RenderError("can't assign to this expression");
        }
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<List<Stmt>, HashSet<string>> MacroNames = new();

    // `name` is null for a call block's caller, which jinja2 reports as "macro None".
    private Callable MakeMacro(string? name, List<MacroParam> ps, List<Stmt> body, Scope defScope)
    {
        var used = MacroNames.GetValue(body, AstNames.Referenced);
        bool catchVarargs = used.Contains("varargs"), catchKwargs = used.Contains("kwargs"), catchCaller = used.Contains("caller");
        string shown = name == null ? "None" : $"'{name}'";
        return new(name ?? "caller", args => Nested(() =>
        {
            if (args.Positional.Count > ps.Count && !catchVarargs)
                throw new RenderError($"macro {shown} takes not more than {ps.Count} argument(s)");
            var scope = new Scope(defScope);
            var named = new Dictionary<string, object?>();
            foreach (var kv in args.Named)
            {
                int pos = ps.FindIndex(p => p.Name == kv.Key);
                if (pos >= 0 && pos < args.Positional.Count)
                    throw new RenderError($"macro {shown} got multiple values for argument '{kv.Key}'");
                named[kv.Key] = kv.Value;
            }
            for (int i = 0; i < ps.Count; i++)
            {
                var p = ps[i];
                object? v;
                if (i < args.Positional.Count) v = args.Positional[i];
                else if (named.Remove(p.Name, out var nv)) v = nv;
                else if (p.Default != null) v = Eval(p.Default, scope);
                else v = new Undefined($"parameter '{p.Name}' was not provided");
                scope.Set(p.Name, v);
            }
            if (named.Remove("caller", out var caller))
            {
                if (!catchCaller) throw new RenderError($"macro {shown} takes no keyword argument 'caller'");
                scope.Set("caller", caller);
            }
            if (named.Count > 0 && !catchKwargs)
                throw new RenderError($"macro {shown} takes no keyword argument '{named.Keys.First()}'");
            scope.Set("varargs", args.Positional.Skip(ps.Count).ToArray());
            var kwargs = new PyDict();
            foreach (var kv in named) kwargs[kv.Key] = kv.Value;
            scope.Set("kwargs", kwargs);
            return Render(body, scope);
        }));
    }

    // ---- expressions ----

    private object? Eval(Expr e, Scope scope)
    {
        try
        {
            return EvalCore(e, scope);
        }
        catch (Exception err) when (IsRenderFailure(err))
        {
            throw new TemplateException(Describe(err), e.Line, e.Column, err);
        }
    }

    // Anything a template can provoke (bad arguments, casts, huge sizes) surfaces as a TemplateException
    // at the innermost failing node; already-located errors pass through.
    private static bool IsRenderFailure(Exception e) =>
        e is not TemplateException and not OutOfMemoryException and not StackOverflowException;

    // Sorting wraps comparison failures; report the template-level cause.
    private static string Describe(Exception e) =>
        e is InvalidOperationException { InnerException: RenderError inner } ? inner.Message : e.Message;

    private object? EvalCore(Expr e, Scope scope)
    {
        switch (e)
        {
            case ConstExpr c:
                return c.Value;
            case NameExpr n:
                return scope.Lookup(n.Name);
            case ListExpr l:
                return l.Items.Select(x => Eval(x, scope)).ToList();
            case TupleExpr t:
                return t.Items.Select(x => Eval(x, scope)).ToArray();
            case DictExpr d:
            {
                var dict = new PyDict();
                foreach (var (k, v) in d.Items)
                    dict[Eval(k, scope) ?? throw new RenderError("None as a dict key is not supported")] = Eval(v, scope);
                return dict;
            }
            case AttrExpr a:
                return PyOps.GetAttr(Eval(a.Target, scope), a.Name);
            case ItemExpr i:
            {
                var target = Eval(i.Target, scope);
                if (i.Index is SliceExpr s)
                    return PyOps.Slice(target, Opt(s.Start, scope), Opt(s.Stop, scope), Opt(s.Step, scope));
                return PyOps.GetItem(target, Eval(i.Index, scope));
            }
            case CallExpr c:
                return Invoke(Eval(c.Target, scope), BuildArgs(c.Args, scope));
            case FilterExpr f:
                return ApplyFilter(f, Eval(f.Target!, scope), scope);
            case TestExpr t:
                return Tests.Apply(t.Name, Eval(t.Target, scope), BuildArgs(t.Args, scope)) != t.Negated;
            case UnaryExpr u:
            {
                var v = Eval(u.Operand, scope);
                return u.Op switch
                {
                    "not" => !PyOps.Truthy(v),
                    "-" => PyOps.Negate(v),
                    _ => PyOps.IsNumber(v) ? (v is bool b ? (b ? 1L : 0L) : v) : v is Undefined ud ? throw ud.Fail()
                        : throw new RenderError($"bad operand type for unary +: '{PyOps.TypeName(v)}'"),
                };
            }
            case BinaryExpr b:
                switch (b.Op)
                {
                    case "and":
                    {
                        var l = Eval(b.Left, scope);
                        return PyOps.Truthy(l) ? Eval(b.Right, scope) : l;
                    }
                    case "or":
                    {
                        var l = Eval(b.Left, scope);
                        return PyOps.Truthy(l) ? l : Eval(b.Right, scope);
                    }
                    case "~":
                        return PyFormat.Str(Eval(b.Left, scope)) + PyFormat.Str(Eval(b.Right, scope));
                    default:
                        return PyOps.Binary(b.Op, Eval(b.Left, scope), Eval(b.Right, scope));
                }
            case CompareExpr c:
            {
                var left = Eval(c.First, scope);
                foreach (var (op, rightExpr) in c.Rest)
                {
                    var right = Eval(rightExpr, scope);
                    bool ok = op switch
                    {
                        "==" => PyOps.Equal(left, right),
                        "!=" => !PyOps.Equal(left, right),
                        "<" => PyOps.Compare(left, right, op) < 0,
                        "<=" => PyOps.Compare(left, right, op) <= 0,
                        ">" => PyOps.Compare(left, right, op) > 0,
                        ">=" => PyOps.Compare(left, right, op) >= 0,
                        "in" => PyOps.Contains(right, left),
                        "notin" => !PyOps.Contains(right, left),
                        _ => throw new RenderError($"unknown comparison {op}"),
                    };
                    if (!ok) return false;
                    left = right;
                }
                return true;
            }
            case CondExpr c:
                if (PyOps.Truthy(Eval(c.Test, scope))) return Eval(c.IfTrue, scope);
                return c.IfFalse != null
                    ? Eval(c.IfFalse, scope)
                    : new Undefined($"the inline if-expression on line {c.Line} evaluated to false and no else section was defined.");
            default:
                throw new RenderError($"unsupported expression {e.GetType().Name}");
        }
    }

    private object? Opt(Expr? e, Scope scope) => e == null ? null : Eval(e, scope);

    private object? ApplyFilter(FilterExpr f, object? value, Scope scope) =>
        Filters.Apply(f.Name, value, BuildArgs(f.Args, scope));

    private Arguments BuildArgs(CallArgs ca, Scope scope)
    {
        var pos = ca.Positional.Select(x => Eval(x, scope)).ToList();
        if (ca.StarArgs != null) pos.AddRange(PyOps.Iterate(Eval(ca.StarArgs, scope)));
        var named = ca.Named.Select(n => new KeyValuePair<string, object?>(n.Name, Eval(n.Value, scope))).ToList();
        if (ca.KwArgs != null)
        {
            if (Eval(ca.KwArgs, scope) is not PyDict kw) throw new RenderError("argument after ** must be a mapping");
            foreach (var kv in kw) named.Add(new(PyFormat.Str(kv.Key), kv.Value));
        }
        return new Arguments(pos, named);
    }

    private static object? Invoke(object? target, Arguments args) => target switch
    {
        Callable c => c.Invoke(args),
        LoopContext { Recurse: { } r } => r.Invoke(args),
        Undefined u => throw u.Fail(),
        _ => throw new RenderError($"'{PyOps.TypeName(target)}' object is not callable"),
    };
}
