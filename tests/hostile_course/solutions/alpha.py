def double(x):
    ### BEGIN SOLUTION secret reference code: a submission must never be able to read this file
    return 2 * x
    ### END SOLUTION
