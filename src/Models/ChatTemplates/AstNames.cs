namespace Pipeline.Models.ChatTemplates;

/// <summary>
/// Which names a macro body reads. jinja2 lets a macro accept extra positional/keyword arguments (or a
/// caller) only when its body mentions varargs/kwargs/caller, and rejects them otherwise.
/// </summary>
internal static class AstNames
{
    public static HashSet<string> Referenced(IEnumerable<Stmt> body)
    {
        var names = new HashSet<string>();
        foreach (var s in body) Visit(s, names);
        return names;
    }

    private static void Visit(Stmt s, HashSet<string> n)
    {
        switch (s)
        {
            case OutputStmt o: Visit(o.Value, n); break;
            case IfStmt i:
                foreach (var (test, body) in i.Branches) { Visit(test, n); VisitAll(body, n); }
                if (i.Else != null) VisitAll(i.Else, n);
                break;
            case ForStmt f:
                Visit(f.Iter, n);
                if (f.Filter != null) Visit(f.Filter, n);
                VisitAll(f.Body, n);
                if (f.Else != null) VisitAll(f.Else, n);
                break;
            case SetStmt st: Visit(st.Value, n); break;
            case SetBlockStmt sb: VisitAll(sb.Body, n); foreach (var f in sb.Filters) Visit(f, n); break;
            case MacroStmt m: VisitAll(m.Body, n); foreach (var p in m.Params) if (p.Default != null) Visit(p.Default, n); break;
            case CallBlockStmt cb: Visit(cb.Call, n); VisitAll(cb.Body, n); break;
            case FilterBlockStmt fb: VisitAll(fb.Body, n); foreach (var f in fb.Filters) Visit(f, n); break;
            case WithStmt w: foreach (var (_, v) in w.Assignments) Visit(v, n); VisitAll(w.Body, n); break;
            case ScopeStmt sc: VisitAll(sc.Body, n); break;
        }
    }

    private static void VisitAll(List<Stmt> body, HashSet<string> n)
    {
        foreach (var s in body) Visit(s, n);
    }

    private static void Visit(Expr? e, HashSet<string> n)
    {
        switch (e)
        {
            case null: break;
            case NameExpr name: n.Add(name.Name); break;
            case ListExpr l: foreach (var x in l.Items) Visit(x, n); break;
            case TupleExpr t: foreach (var x in t.Items) Visit(x, n); break;
            case DictExpr d: foreach (var (k, v) in d.Items) { Visit(k, n); Visit(v, n); } break;
            case AttrExpr a: Visit(a.Target, n); break;
            case ItemExpr i: Visit(i.Target, n); Visit(i.Index, n); break;
            case SliceExpr s: Visit(s.Start, n); Visit(s.Stop, n); Visit(s.Step, n); break;
            case CallExpr c: Visit(c.Target, n); Visit(c.Args, n); break;
            case FilterExpr f: Visit(f.Target, n); Visit(f.Args, n); break;
            case TestExpr t: Visit(t.Target, n); Visit(t.Args, n); break;
            case UnaryExpr u: Visit(u.Operand, n); break;
            case BinaryExpr b: Visit(b.Left, n); Visit(b.Right, n); break;
            case CompareExpr c: Visit(c.First, n); foreach (var (_, r) in c.Rest) Visit(r, n); break;
            case CondExpr c: Visit(c.Test, n); Visit(c.IfTrue, n); Visit(c.IfFalse, n); break;
        }
    }

    private static void Visit(CallArgs a, HashSet<string> n)
    {
        foreach (var x in a.Positional) Visit(x, n);
        foreach (var (_, v) in a.Named) Visit(v, n);
        Visit(a.StarArgs, n);
        Visit(a.KwArgs, n);
    }
}
