# Series 2 as one story: every step starts from the previous step's state (tutorials/*/story.h).
