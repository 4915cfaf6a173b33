namespace BudgetGrains.Actors;

/// <summary>A unit of work in an activation's mailbox. Run never throws: failures go to the caller's task.</summary>
internal interface ITurn
{
    /// <summary>Starts the turn; the returned task completes when the turn (with its awaits) is over.</summary>
    Task Run(Activation activation);

    /// <summary>Counted against <see cref="ActorRuntimeOptions.MaxMailboxLength"/> and re-dispatched when left in a dead mailbox.</summary>
    bool IsCall { get; }

    /// <summary>The call could not be delivered (activation failed, runtime stopping, overloaded).</summary>
    void Fail(Exception exception);
}

/// <summary>A call to a grain method returning Task. It is its own completion source, so a call allocates one object plus its Task.</summary>
internal sealed class VoidCall(Func<object, object?[]?, Task> invoker, object?[]? args)
    : TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), ITurn
{
    public bool IsCall => true;

    public Task Run(Activation activation)
    {
        Task task;
        try
        {
            task = invoker(activation.Grain, args);
        }
        catch (Exception e)
        {
            TrySetException(e);
            return Task.CompletedTask;
        }
        if (task.IsCompletedSuccessfully)
        {
            TrySetResult();
            return Task.CompletedTask;
        }
        return CompleteWhenDone(task);
    }

    public void Fail(Exception exception) => TrySetException(exception);

    private async Task CompleteWhenDone(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
            TrySetResult();
        }
        catch (OperationCanceledException e)
        {
            TrySetCanceled(e.CancellationToken);
        }
        catch (Exception e)
        {
            TrySetException(e);
        }
    }
}

/// <summary>A call to a grain method returning Task&lt;T&gt;.</summary>
internal sealed class Call<T>(Func<object, object?[]?, Task<T>> invoker, object?[]? args)
    : TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously), ITurn
{
    public bool IsCall => true;

    public Task Run(Activation activation)
    {
        Task<T> task;
        try
        {
            task = invoker(activation.Grain, args);
        }
        catch (Exception e)
        {
            TrySetException(e);
            return System.Threading.Tasks.Task.CompletedTask;
        }
        if (task.IsCompletedSuccessfully)
        {
            TrySetResult(task.Result);
            return System.Threading.Tasks.Task.CompletedTask;
        }
        return CompleteWhenDone(task);
    }

    public void Fail(Exception exception) => TrySetException(exception);

    private async Task CompleteWhenDone(Task<T> task)
    {
        try
        {
            TrySetResult(await task.ConfigureAwait(false));
        }
        catch (OperationCanceledException e)
        {
            TrySetCanceled(e.CancellationToken);
        }
        catch (Exception e)
        {
            TrySetException(e);
        }
    }
}

/// <summary>The activation's own turns (activate, deactivate); nobody waits on them, so failures are the activation's to handle.</summary>
internal sealed class LifecycleTurn(Func<Activation, Task> run) : ITurn
{
    public static readonly LifecycleTurn Activate = new(a => a.ActivateAsync());
    public static readonly LifecycleTurn Deactivate = new(a => a.DeactivateAsync());

    public bool IsCall => false;

    public Task Run(Activation activation) => run(activation);

    public void Fail(Exception exception)
    {
    }
}
