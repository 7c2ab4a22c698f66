namespace Pipeline.Models.ChatTemplates;

/// <summary>The expression half of the parser: tuples, conditionals, operators by precedence, postfix, filters and tests.</summary>
internal sealed partial class Parser
{

    private bool IsTupleEnd(string? extraEnd) =>
        Cur.Kind is TokenKind.VarEnd or TokenKind.BlockEnd or TokenKind.Eof
        || Cur.IsOp(")") || Cur.IsOp("]") || Cur.IsOp("}") || Cur.IsOp("=")
        || (extraEnd != null && Cur.IsName(extraEnd));

    private Expr ParseTuple(bool withCondExpr, string? extraEnd = null, bool explicitParens = false)
    {
        var t = Cur;
        var items = new List<Expr>();
        bool sawComma = false;
        while (true)
        {
            if (items.Count > 0)
            {
                if (!SkipOp(",")) break;
                sawComma = true;
            }
            if (IsTupleEnd(extraEnd)) break;
            items.Add(withCondExpr ? ParseExpression() : ParseOr());
        }
        if (!sawComma)
        {
            if (items.Count == 1) return items[0];
            if (!explicitParens) throw Error($"expected an expression, got {Cur.Describe()}", Cur);
        }
        return At(new TupleExpr(items), t);
    }

    private Expr ParseExpression()
    {
        Enter();
        try
        {
            return ParseCondExpr();
        }
        finally
        {
            _nesting--;
        }
    }

    private Expr ParseCondExpr()
    {
        var t = Cur;
        var expr = ParseOr();
        while (SkipName("if"))
        {
            var test = ParseOr();
            Expr? other = SkipName("else") ? ParseExpression() : null;
            expr = At(new CondExpr(test, expr, other), t);
        }
        return expr;
    }

    private Expr ParseOr()
    {
        var t = Cur;
        var left = ParseAnd();
        int depth = _nesting;
        while (SkipName("or")) { Enter(); left = At(new BinaryExpr("or", left, ParseAnd()), t); }
        _nesting = depth;
        return left;
    }

    private Expr ParseAnd()
    {
        var t = Cur;
        var left = ParseNot();
        int depth = _nesting;
        while (SkipName("and")) { Enter(); left = At(new BinaryExpr("and", left, ParseNot()), t); }
        _nesting = depth;
        return left;
    }

    private Expr ParseNot()
    {
        var starts = new List<Token>();
        while (Cur.IsName("not")) starts.Add(Next());
        if (_nesting + starts.Count > MaxNesting) throw Error("template nesting too deep", Cur);
        var expr = ParseCompare();
        for (int i = starts.Count - 1; i >= 0; i--) expr = At(new UnaryExpr("not", expr), starts[i]);
        return expr;
    }

    private static readonly HashSet<string> CompareOps = ["==", "!=", "<", "<=", ">", ">="];

    private Expr ParseCompare()
    {
        var t = Cur;
        var first = ParseMath1();
        var rest = new List<(string, Expr)>();
        while (true)
        {
            if (Cur.Kind == TokenKind.Op && CompareOps.Contains(Cur.Text))
            {
                var op = Next().Text;
                rest.Add((op, ParseMath1()));
            }
            else if (SkipName("in")) rest.Add(("in", ParseMath1()));
            else if (Cur.IsName("not") && Peek().IsName("in"))
            {
                _i += 2;
                rest.Add(("notin", ParseMath1()));
            }
            else break;
        }
        return rest.Count == 0 ? first : At(new CompareExpr(first, rest), t);
    }

    private Expr ParseMath1()
    {
        var t = Cur;
        var left = ParseConcat();
        int depth = _nesting;
        while (Cur.IsOp("+") || Cur.IsOp("-"))
        {
            Enter();
            var op = Next().Text;
            left = At(new BinaryExpr(op, left, ParseConcat()), t);
        }
        _nesting = depth;
        return left;
    }

    private Expr ParseConcat()
    {
        var t = Cur;
        var left = ParseMath2();
        int depth = _nesting;
        while (SkipOp("~")) { Enter(); left = At(new BinaryExpr("~", left, ParseMath2()), t); }
        _nesting = depth;
        return left;
    }

    private Expr ParseMath2()
    {
        var t = Cur;
        var left = ParsePow();
        int depth = _nesting;
        while (Cur.IsOp("*") || Cur.IsOp("/") || Cur.IsOp("//") || Cur.IsOp("%"))
        {
            Enter();
            var op = Next().Text;
            left = At(new BinaryExpr(op, left, ParsePow()), t);
        }
        _nesting = depth;
        return left;
    }

    private Expr ParsePow()
    {
        var t = Cur;
        var left = ParseUnary(true);
        int depth = _nesting;
        while (SkipOp("**")) { Enter(); left = At(new BinaryExpr("**", left, ParseUnary(true)), t); }
        _nesting = depth;
        return left;
    }

    private Expr ParseUnary(bool withFilter)
    {
        Enter();
        try
        {
            return ParseUnaryCore(withFilter);
        }
        finally
        {
            _nesting--;
        }
    }

    private Expr ParseUnaryCore(bool withFilter)
    {
        var t = Cur;
        Expr node;
        if (SkipOp("-")) node = At(new UnaryExpr("-", ParseUnary(false)), t);
        else if (SkipOp("+")) node = At(new UnaryExpr("+", ParseUnary(false)), t);
        else node = ParsePrimary();
        node = ParsePostfix(node);
        if (withFilter) node = ParseFilterExpr(node);
        return node;
    }

    private Expr ParsePrimary()
    {
        var t = Next();
        switch (t.Kind)
        {
            case TokenKind.Name:
                return t.Text switch
                {
                    "true" or "True" => At(new ConstExpr(true), t),
                    "false" or "False" => At(new ConstExpr(false), t),
                    "none" or "None" => At(new ConstExpr(null), t),
                    _ => At(new NameExpr(t.Text), t),
                };
            case TokenKind.String:
            {
                var s = (string)t.Value!;
                while (Cur.Kind == TokenKind.String) s += (string)Next().Value!;
                return At(new ConstExpr(s), t);
            }
            case TokenKind.Integer:
            case TokenKind.Float:
                return At(new ConstExpr(t.Value), t);
            case TokenKind.Op when t.Text == "(":
            {
                var e = ParseTuple(withCondExpr: true, explicitParens: true);
                Expect(TokenKind.Op, ")");
                return e;
            }
            case TokenKind.Op when t.Text == "[":
            {
                var items = new List<Expr>();
                while (!SkipOp("]"))
                {
                    if (items.Count > 0) Expect(TokenKind.Op, ",");
                    if (SkipOp("]")) break;
                    items.Add(ParseExpression());
                }
                return At(new ListExpr(items), t);
            }
            case TokenKind.Op when t.Text == "{":
            {
                var items = new List<(Expr, Expr)>();
                while (!SkipOp("}"))
                {
                    if (items.Count > 0) Expect(TokenKind.Op, ",");
                    if (SkipOp("}")) break;
                    var k = ParseExpression();
                    Expect(TokenKind.Op, ":");
                    items.Add((k, ParseExpression()));
                }
                return At(new DictExpr(items), t);
            }
            default:
                throw Error($"unexpected {t.Describe()}", t);
        }
    }

    private Expr ParsePostfix(Expr node)
    {
        int depth = _nesting;
        try
        {
            return ParsePostfixChain(node);
        }
        finally
        {
            _nesting = depth;
        }
    }

    private Expr ParsePostfixChain(Expr node)
    {
        while (true)
        {
            Enter();
            var t = Cur;
            if (SkipOp("."))
            {
                var n = Next();
                if (n.Kind == TokenKind.Name) node = At(new AttrExpr(node, n.Text), n);
                else if (n.Kind == TokenKind.Integer) node = At(new ItemExpr(node, At(new ConstExpr(n.Value), n)), n);
                else throw Error($"expected attribute name, got {n.Describe()}", n);
            }
            else if (SkipOp("["))
            {
                var idx = new List<Expr>();
                while (!SkipOp("]"))
                {
                    if (idx.Count > 0) Expect(TokenKind.Op, ",");
                    idx.Add(ParseSubscript());
                }
                if (idx.Count == 0) throw Error("expected subscript expression", t);
                node = At(new ItemExpr(node, idx.Count == 1 ? idx[0] : At(new TupleExpr(idx), t)), t);
            }
            else if (Cur.IsOp("("))
            {
                node = At(new CallExpr(node, ParseCallArgs()), t);
            }
            else return node;
        }
    }

    private Expr ParseSubscript()
    {
        var t = Cur;
        Expr? start = null, stop = null, step = null;
        if (!Cur.IsOp(":"))
        {
            start = ParseExpression();
            if (!Cur.IsOp(":")) return start;
        }
        Next();
        if (!Cur.IsOp("]") && !Cur.IsOp(",") && !Cur.IsOp(":")) stop = ParseExpression();
        if (SkipOp(":") && !Cur.IsOp("]") && !Cur.IsOp(",")) step = ParseExpression();
        return At(new SliceExpr(start, stop, step), t);
    }

    private CallArgs ParseCallArgs()
    {
        Expect(TokenKind.Op, "(");
        var pos = new List<Expr>();
        var named = new List<(string, Expr)>();
        Expr? star = null, kw = null;
        bool first = true;
        while (!SkipOp(")"))
        {
            if (!first)
            {
                Expect(TokenKind.Op, ",");
                if (SkipOp(")")) break;
            }
            first = false;
            if (SkipOp("*")) star = ParseExpression();
            else if (SkipOp("**")) kw = ParseExpression();
            else if (Cur.Kind == TokenKind.Name && Peek().IsOp("="))
            {
                var name = Next().Text;
                Next();
                named.Add((name, ParseExpression()));
            }
            else pos.Add(ParseExpression());
        }
        return new CallArgs(pos, named, star, kw);
    }

    private static readonly CallArgs NoArgs = new([], [], null, null);

    private FilterExpr ParseFilter(Expr? target)
    {
        var nt = Expect(TokenKind.Name);
        var name = nt.Text;
        while (SkipOp(".")) name += "." + Expect(TokenKind.Name).Text;
        if (!Filters.Exists(name)) throw Error($"No filter named '{name}'.", nt);
        var args = Cur.IsOp("(") ? ParseCallArgs() : NoArgs;
        return At(new FilterExpr(target, name, args), nt);
    }

    private Expr ParseFilterExpr(Expr node)
    {
        int depth = _nesting;
        try
        {
            return ParseFilterTail(node);
        }
        finally
        {
            _nesting = depth;
        }
    }

    private Expr ParseFilterTail(Expr node)
    {
        while (true)
        {
            Enter();
            if (SkipOp("|")) node = ParseFilter(node);
            else if (Cur.IsName("is"))
            {
                var t = Next();
                bool neg = SkipName("not");
                var nt = Expect(TokenKind.Name);
                var name = nt.Text;
                while (SkipOp(".")) name += "." + Expect(TokenKind.Name).Text;
                if (!Tests.Exists(name)) throw Error($"No test named '{name}'.", nt);
                CallArgs args = NoArgs;
                if (Cur.IsOp("(")) args = ParseCallArgs();
                else if ((Cur.Kind is TokenKind.Name or TokenKind.String or TokenKind.Integer or TokenKind.Float
                          || Cur.IsOp("[") || Cur.IsOp("{"))
                         && !Cur.IsName("else") && !Cur.IsName("or") && !Cur.IsName("and") && !Cur.IsName("if")
                         && !Cur.IsName("is") && !Cur.IsName("in") && !Cur.IsName("not") && !Cur.IsName("recursive"))
                {
                    var arg = ParsePostfix(ParsePrimary());
                    args = new CallArgs([arg], [], null, null);
                }
                node = At(new TestExpr(node, name, args, neg), t);
            }
            else return node;
        }
    }
}
